"""Lineage: what every flow run consumed and produced, kept on the flow's storage and exported.

`LineageRecorder` listens to a flow and writes `<root_dir>/_dtflw/runs/<flow_run_id>.json`;
`LineageGraph.load(storage)` reads every run back; `export(graph, fmt)` gives json, openlineage,
mermaid, dot or html; `show_tree(graph)` a text tree. Heavy libraries (pyarrow, openlineage)
load only when a function needs them.
"""

from dtflw.lineage.export import FORMATS, export
from dtflw.lineage.export_html import render as render_html
from dtflw.lineage.graph import Edge, LineageGraph, NotebookNode, TableNode
from dtflw.lineage.recorder import LineageRecorder
from dtflw.lineage.tree import show_tree

__all__ = [
    "FORMATS",
    "Edge",
    "LineageGraph",
    "LineageRecorder",
    "NotebookNode",
    "TableNode",
    "export",
    "render_html",
    "show_tree",
]
