"""The lineage graph as a Mermaid flowchart: notebooks as boxes coloured by their latest run, tables as cylinders."""

from __future__ import annotations

from dtflw.lineage.graph import LineageGraph
from dtflw.lineage.labels import STATUS_COLOURS, TABLE_COLOURS, notebook_caption, table_caption

_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "\n": " ", "\r": " "}


def render(graph: LineageGraph) -> str:
    lines = ["flowchart LR"]
    for status, (fill, stroke) in STATUS_COLOURS.items():
        lines.append(f"  classDef {status} fill:{fill},stroke:{stroke}")
    lines.append(f"  classDef table fill:{TABLE_COLOURS[0]},stroke:{TABLE_COLOURS[1]}")
    ids = {}
    for i, notebook in enumerate(graph.notebooks.values()):
        ids[notebook.id] = f"n{i}"
        status, detail = notebook_caption(graph, notebook)
        lines.append(f'  n{i}["{_label(notebook.label, detail)}"]:::{status}')
    for i, table in enumerate(graph.tables.values()):
        ids[table.id] = f"t{i}"
        lines.append(f'  t{i}[("{_label(table.name, table_caption(graph, table))}")]:::table')
    lines += [f"  {ids[source]} --> {ids[target]}" for source, target in graph.links()]
    return "\n".join(lines) + "\n"


def _label(title: str, detail: str) -> str:
    text = _escape(title)
    return f"{text}<br/>{_escape(detail)}" if detail else text


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in text)
