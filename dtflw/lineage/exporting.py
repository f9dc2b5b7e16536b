"""`export(graph, fmt)`: the lineage graph as json, openlineage, mermaid, dot or html text or file."""

from __future__ import annotations

import importlib
import os

from dtflw.errors import LineageFormatError
from dtflw.extras import extra, require
from dtflw.lineage.graph import LineageGraph

FORMATS = {
    "json": "dtflw.lineage.export_json",
    "openlineage": "dtflw.lineage.export_openlineage",
    "mermaid": "dtflw.lineage.export_mermaid",
    "dot": "dtflw.lineage.export_dot",
    "html": "dtflw.lineage.export_html",
}
NEEDS = {"json": ("orjson",), "openlineage": ("openlineage.client", "orjson")}  # of the `lineage` extra


def export(
    graph: LineageGraph, fmt: str, out_path: str | None = None, select: str | None = None, **options: object
) -> str | None:
    """The graph (or the part `select` picks) in format `fmt`: written to `out_path` (returns None) or returned.

    `openlineage` without `out_path` sends the events through an OpenLineage client instead
    (`client=`, else `OpenLineageClient()` configured by `OPENLINEAGE_URL` / `openlineage.yml`);
    with `out_path` it writes them as JSON lines. `options` go to the format's renderer
    (`job_namespace=` and `dbfs_workspace=` for openlineage, `title=` for html).
    """
    if fmt not in FORMATS:
        raise LineageFormatError(f"Unknown lineage format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    if select:
        graph = graph.select(select)
    require("lineage", f"Lineage as {fmt}", *NEEDS.get(fmt, ()))
    with extra("lineage", f"Lineage as {fmt}"):
        module = importlib.import_module(FORMATS[fmt])
        if fmt == "openlineage" and out_path is None:
            module.emit(graph, **options)
            return None
        text: str = module.render(graph, **options)
    if out_path is None:
        return text
    folder = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(folder, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)
    return None
