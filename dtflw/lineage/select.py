"""Selection expressions over a lineage graph, dbt-like: `T`, `+T`, `T+`, `+T+`, `tag:x`, unions.

A term names tables and notebooks by path, name, alias or relative notebook path (`*` and `?`
match any text); `+` before it adds everything upstream, after it everything downstream.
Terms separated by spaces or commas are unioned.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

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


def select_nodes(graph, expr: str) -> set[str]:
    """The ids of the notebook and table nodes an expression selects in `graph`."""
    selected: set[str] = set()
    for term in parse(expr):
        found = _matches(graph, term)
        if not found:
            raise SelectionError(_nothing_found(graph, term, expr))
        selected |= found
        if term.upstream:
            selected |= _closure(found, graph.upstream_of)
        if term.downstream:
            selected |= _closure(found, graph.downstream_of)
    return selected


def _matches(graph, term: Term) -> set[str]:
    if term.method == "tag":
        return {n.id for n in graph.notebooks.values() if any(_like(term.value, t) for t in n.tags)}
    if not _GLOB.search(term.value):
        return {t.id for t in graph.find_tables(term.value)} | {n.id for n in graph.find_notebooks(term.value)}
    found = {t.id for t in graph.tables.values() if any(_like(term.value, k) for k in (t.path, *t.names, *t.aliases))}
    return found | {
        n.id for n in graph.notebooks.values() if any(_like(term.value, k) for k in (n.path, n.name, *n.rel_paths))
    }


def _like(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text, pattern)


def _closure(start: set[str], neighbours: dict[str, set[str]]) -> set[str]:
    seen, pending = set(start), list(start)
    while pending:
        for node in neighbours.get(pending.pop(), ()):
            if node not in seen:
                seen.add(node)
                pending.append(node)
    return seen


def _nothing_found(graph, term: Term, expr: str) -> str:
    what = f"tag {term.value!r}" if term.method else repr(term.value)
    tables = sorted({n for t in graph.tables.values() for n in t.names})
    notebooks = sorted(n.path for n in graph.notebooks.values())
    return (
        f"Selection {expr!r}: {what} matches no table or notebook in the lineage "
        f"({len(tables)} table names, e.g. {', '.join(tables[:8]) or 'none'}; "
        f"{len(notebooks)} notebooks, e.g. {', '.join(notebooks[:5]) or 'none'}). Valid forms: {VALID_FORMS}."
    )
