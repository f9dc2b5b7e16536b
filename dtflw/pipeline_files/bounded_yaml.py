"""YAML composed within bounds: a hostile file — a "billion laughs" of aliases repeating aliases, a
structure that contains itself, nesting thousands deep — is refused while it is composed, before
anything is built from it, so time, memory and the stack stay bounded by the file's size."""

from __future__ import annotations

import yaml

MAX_NODES = 100_000  # nodes of the document with every alias expanded (a pipeline file has hundreds)
MAX_DEPTH = 64  # collections inside each other (a pipeline file nests 5 deep)


class YamlBoundError(yaml.MarkedYAMLError):  # type: ignore[misc]  # PyYAML has no types here (no types-PyYAML)
    """A document goes past a bound; `problem` says which, `problem_mark` where."""


class BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no types here (no types-PyYAML)
    """`yaml.SafeLoader` that counts every node it composes, an alias as the nodes it repeats."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}  # id of a node composed → its node count, aliases expanded
        self._total = 0  # nodes of the document so far, aliases expanded
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:  # its anchor is still being composed
                raise YamlBoundError(
                    problem=f"alias *{event.anchor} is inside its own anchor", problem_mark=event.start_mark
                )
            self._count(self._sizes[id(node)], event)
            return node
        self._count(1, event)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlBoundError(problem=f"nested more than {MAX_DEPTH} deep", problem_mark=event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in _children(node))
        return node

    def _count(self, nodes: int, event: yaml.Event) -> None:
        self._total += nodes
        if self._total > MAX_NODES:
            raise YamlBoundError(
                problem=f"more than {MAX_NODES} values once its aliases (*name) are expanded",
                problem_mark=event.start_mark,
            )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
