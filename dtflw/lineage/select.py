"""Selection over a lineage graph: the nodes an expression of `dtflw.selection` picks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dtflw.errors import SelectionError
from dtflw.selection import VALID_FORMS, Term, closure, is_glob, matches, parse

if TYPE_CHECKING:
    from dtflw.lineage.graph import LineageGraph

__all__ = ["VALID_FORMS", "Term", "parse", "select_nodes"]


def select_nodes(graph: LineageGraph, expr: str) -> set[str]:
    """The ids of the notebook and table nodes an expression selects in `graph`."""
    selected: set[str] = set()
    for term in parse(expr):
        found = _matches(graph, term)
        if not found:
            raise SelectionError(_nothing_found(graph, term, expr))
        selected |= found
        if term.upstream:
            selected |= closure(found, graph.upstream_of)
        if term.downstream:
            selected |= closure(found, graph.downstream_of)
    return selected


def _matches(graph: LineageGraph, term: Term) -> set[str]:
    if term.method == "tag":
        return {n.id for n in graph.notebooks.values() if matches(term.value, n.tags)}
    if not is_glob(term.value):
        return {t.id for t in graph.find_tables(term.value)} | {n.id for n in graph.find_notebooks(term.value)}
    found = {t.id for t in graph.tables.values() if matches(term.value, (t.path, *t.names, *t.aliases))}
    return found | {n.id for n in graph.notebooks.values() if matches(term.value, (n.path, n.name, *n.rel_paths))}


def _nothing_found(graph: LineageGraph, term: Term, expr: str) -> str:
    what = f"tag {term.value!r}" if term.method else repr(term.value)
    tables = sorted({n for t in graph.tables.values() for n in t.names})
    notebooks = sorted(n.path for n in graph.notebooks.values())
    return (
        f"Selection {expr!r}: {what} matches no table or notebook in the lineage "
        f"({len(tables)} table names, e.g. {', '.join(tables[:8]) or 'none'}; "
        f"{len(notebooks)} notebooks, e.g. {', '.join(notebooks[:5]) or 'none'}). Valid forms: {VALID_FORMS}."
    )
