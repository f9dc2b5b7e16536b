"""The lineage graph in Graphviz DOT: notebooks as boxes coloured by their latest run, tables as cylinders."""

from __future__ import annotations

from dtflw.lineage.graph import LineageGraph
from dtflw.lineage.labels import STATUS_COLOURS, TABLE_COLOURS, notebook_caption, table_caption


def render(graph: LineageGraph) -> str:
    lines = [
        "digraph lineage {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=10, style=filled];',
    ]
    for notebook in graph.notebooks.values():
        status, detail = notebook_caption(graph, notebook)
        fill, stroke = STATUS_COLOURS[status]
        lines.append(
            f'  {_quote(notebook.id)} [shape=box, style="rounded,filled", fillcolor="{fill}", color="{stroke}", '
            f"label={_label(notebook.label, detail)}, tooltip={_quote(notebook.path)}];"
        )
    fill, stroke = TABLE_COLOURS
    for table in graph.tables.values():
        lines.append(
            f'  {_quote(table.id)} [shape=cylinder, fillcolor="{fill}", color="{stroke}", '
            f"label={_label(table.name, table_caption(graph, table))}, tooltip={_quote(table.path)}];"
        )
    lines += [f"  {_quote(source)} -> {_quote(target)};" for source, target in graph.links()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _label(title: str, detail: str) -> str:
    return '"' + _escape(title) + (f"\\n{_escape(detail)}" if detail else "") + '"'


def _quote(text: str) -> str:
    return '"' + _escape(text) + '"'


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
