"""The selection grammar, dbt-like — `T`, `+T`, `T+`, `+T+`, `tag:x`, unions — one for DAGs,
`dtflw run --select` and lineage.

A term names tables and notebooks by path, name, alias or relative notebook path (`*` and `?`
match any text); `+` before it adds everything upstream, after it everything downstream.
Terms separated by spaces or commas are unioned.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from dtflw.errors import SelectionError

VALID_FORMS = (
    "T (a table or notebook: path, name, alias or relative notebook path; * and ? match any text), "
    "+T (T and everything upstream), T+ (T and everything downstream), +T+ (both), "
    "tag:NAME (notebooks tagged NAME, also with + on either side), "
    "and unions of these separated by spaces or commas"
)
METHODS = ("tag",)
_METHOD = re.compile(r"^(?P<method>[A-Za-z_]\w*):(?!/)(?P<value>.*)$")
_GLOB = re.compile(r"[*?\[]")
N = TypeVar("N", bound=Hashable)


@dataclass(frozen=True)
class Term:
    value: str
    method: str | None = None
    upstream: bool = False
    downstream: bool = False


def parse(expr: str) -> list[Term]:
    """The terms of an expression; `SelectionError` names what is wrong and lists the valid forms."""
    if not isinstance(expr, str) or not expr.strip(" ,"):
        raise SelectionError(f"Empty selection {expr!r}; valid forms: {VALID_FORMS}.")
    terms = []
    for raw in re.split(r"[\s,]+", expr.strip(" ,\t\n")):
        upstream, downstream = raw.startswith("+"), raw.endswith("+") and len(raw) > 1
        value = raw[1 if upstream else 0 : len(raw) - (1 if downstream else 0)]
        if not value or value.startswith("+") or value.endswith("+"):
            raise SelectionError(f"Bad selection term {raw!r} in {expr!r}; valid forms: {VALID_FORMS}.")
        method = None
        match = _METHOD.match(value)
        if match:
            method, value = match["method"], match["value"]
            if method not in METHODS:
                raise SelectionError(
                    f"Unknown selection method {method!r} in {raw!r}; known: {', '.join(METHODS)}. "
                    f"Valid forms: {VALID_FORMS}."
                )
            if not value:
                raise SelectionError(f"Selection term {raw!r} names no {method}; valid forms: {VALID_FORMS}.")
        terms.append(Term(value, method, upstream, downstream))
    return terms


def closure(start: Iterable[N], neighbours: Mapping[N, Iterable[N]]) -> set[N]:
    """`start` and every node reachable from it through `neighbours` (node: its next nodes): what `+`
    adds upstream or downstream of a term's matches."""
    seen, pending = set(start), list(start)
    while pending:
        for node in neighbours.get(pending.pop(), ()):
            if node not in seen:
                seen.add(node)
                pending.append(node)
    return seen


def is_glob(pattern: str) -> bool:
    return bool(_GLOB.search(pattern))


def matches(pattern: str, names: Collection[str]) -> bool:
    """True if `pattern` (a name, or a glob with `*`/`?`/`[…]`) matches one of `names`."""
    if not is_glob(pattern):
        return pattern in names
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)
