"""Lineage: what every flow run consumed and produced, kept on the flow's storage and exported.

`LineageRecorder` listens to a flow and writes `<root_dir>/_dtflw/runs/<flow_run_id>.json`;
`LineageGraph.load(storage)` reads every run back; `export(graph, fmt)` gives json, openlineage,
mermaid, dot or html; `show_tree(graph)` a text tree. Heavy libraries (pyarrow, openlineage)
load only when a function needs them.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the names below are, for type checkers; at run time each loads on first use
    from dtflw.lineage.export_html import render as render_html
    from dtflw.lineage.exporting import FORMATS, export
    from dtflw.lineage.graph import Edge, LineageGraph, NotebookNode, TableNode
    from dtflw.lineage.recorder import LineageRecorder
    from dtflw.lineage.tree import show_tree

_WHERE = {
    "FORMATS": "exporting",
    "export": "exporting",
    "render_html": "export_html",
    "Edge": "graph",
    "LineageGraph": "graph",
    "NotebookNode": "graph",
    "TableNode": "graph",
    "LineageRecorder": "recorder",
    "show_tree": "tree",
}


def __getattr__(name: str) -> object:
    """Load each public name's module on first use, so that recording never loads the exporters."""
    if name not in _WHERE:
        raise AttributeError(f"module 'dtflw.lineage' has no attribute {name!r}")
    value = getattr(
        importlib.import_module(f"dtflw.lineage.{_WHERE[name]}"), "render" if name == "render_html" else name
    )
    globals()[name] = value
    return value


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
