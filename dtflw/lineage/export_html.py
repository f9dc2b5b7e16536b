"""The lineage graph as one self-contained HTML page: a DAG of notebooks and tables, searchable.

Notebooks are coloured by the status of their last run that did run (the history of runs), or,
switched to the latest run, by their status in the newest flow run; tables show the version and row
count last seen; two notebooks or tables of the same name are told apart by the end of their path; clicking a node lists its runs (args, exit value, error) or the
versions seen and its schema. The search box narrows the drawing to a selection (`+T`, `T+`,
`+T+`, `tag:x`). Script and style are inline and the data is JSON inside the page, so the file
opens anywhere, offline — also in a Databricks notebook through `displayHTML(render(graph))`.
"""

from __future__ import annotations

import html
import json
import time

from dtflw.events import NotebookRun, RunStatus
from dtflw.gc_pause import paused_gc
from dtflw.lineage.graph import CONSUMED, Edge, LineageGraph, NotebookNode, TableNode
from dtflw.lineage.html_assets import CSS, JS
from dtflw.lineage.labels import (
    STATUS_COLOURS,
    TABLE_COLOURS,
    duration_text,
    iso_time,
    rows_text,
    run_caption,
    table_caption,
    unique_labels,
)

MAX_HISTORY = 20  # runs per notebook and versions per table listed in the details panel
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def render(graph: LineageGraph, title: str = "dtflw lineage") -> str:
    """The report page as a string."""
    data = json.dumps(_data(graph), ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_SAFE)
    legend = (
        "".join(
            f'<span style="--fill:{fill};--stroke:{stroke}">{status}</span>'
            for status, (fill, stroke) in STATUS_COLOURS.items()
        )
        + f'<span style="--fill:{TABLE_COLOURS[0]};--stroke:{TABLE_COLOURS[1]}">table</span>'
    )
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in graph.problems)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
        f"<header><h1>{html.escape(title)}</h1>"
        '<input id="search" type="search" autocomplete="off" spellcheck="false" '
        'placeholder="Select: T, +T, T+, +T+, tag:x" title="T: a table or notebook, +T: with upstream, T+: with downstream" aria-label="Selection">'
        '<button id="fit" type="button" title="Show the whole graph">Fit</button>'
        '<span class="views" role="radiogroup" aria-label="Runs shown">'
        '<label title="every notebook as its last run that did run left it">'
        '<input type="radio" name="view" value="history" checked> history of runs</label>'
        '<label title="only the newest flow run, as it went (skipped: up to date)">'
        '<input type="radio" name="view" value="latest"> latest run</label></span>'
        f'<span id="counts"></span><span class="legend">{legend}</span>'
        '<div id="message" role="alert"></div>'
        f"{f'<ul class=problems>{problems}</ul>' if problems else ''}</header>\n"
        '<main><svg id="canvas" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Lineage graph (click a node for details)"></svg>'
        '<aside id="details"></aside></main>\n'
        f'<script type="application/json" id="lineage-data">{data}</script>\n'
        f"<script>{JS}</script>\n</body></html>\n"
    )


def _data(graph: LineageGraph) -> dict[str, object]:
    with paused_gc():
        return _nodes_and_links(graph)


def _nodes_and_links(graph: LineageGraph) -> dict[str, object]:
    """Each node carries two views: `history` (a notebook coloured by its last run that did run, so a lazy
    no-op leaves it as it was) and `latest` (as in the newest top-level flow run; null if not in it)."""
    latest_runs = _latest_flow_runs(graph)
    notebook_labels = unique_labels([(n.label, n.path) for n in graph.notebooks.values()])
    table_labels = unique_labels([(t.name, t.path) for t in graph.tables.values()])
    nodes = [
        _notebook_node(graph, n, label, latest_runs) for n, label in zip(graph.notebooks.values(), notebook_labels)
    ]
    nodes += [_table_node(graph, t, label, latest_runs) for t, label in zip(graph.tables.values(), table_labels)]
    ids = [*(n.id for n in graph.notebooks.values()), *(t.id for t in graph.tables.values())]
    index = {node_id: position for position, node_id in enumerate(ids)}
    links = [[index[source], index[target]] for source, target in graph.links()]
    return {
        "generated": iso_time(time.time()),
        "counts": {"notebooks": len(graph.notebooks), "tables": len(graph.tables)},
        "nodes": nodes,
        "links": links,
    }


def _notebook_node(graph: LineageGraph, notebook: NotebookNode, label: str, latest_runs: set[str]) -> dict[str, object]:
    runs = [graph.runs[i] for i in notebook.run_ids]
    ran = [r for r in runs if r.status != RunStatus.SKIPPED] or runs
    history = _view(*run_caption(ran[-1]))
    if len(runs) > 1:
        history["detail"] += f" · {len(runs)} runs"
    in_latest = [r for r in runs if r.run_id in latest_runs]
    return {
        "kind": "notebook",
        "key": notebook.path,
        "name": label,
        "keys": list(dict.fromkeys([notebook.path, *notebook.rel_paths, notebook.name, label])),
        "tags": notebook.tags,
        **history,
        "latest": _view(*run_caption(in_latest[-1])) if in_latest else None,
        "fingerprints": notebook.source_fingerprints,
        "runs": [_run(r) for r in reversed(runs[-MAX_HISTORY:])],
        "older": max(0, len(runs) - MAX_HISTORY),
    }


def _table_node(graph: LineageGraph, table: TableNode, label: str, latest_runs: set[str]) -> dict[str, object]:
    seen = graph.history(table.path) or graph.edges_of_table(table.path)
    latest = graph.latest_seen(table.path)
    schema = latest.use.schema if latest is not None else None
    view = {"fill": TABLE_COLOURS[0], "stroke": TABLE_COLOURS[1], "detail": table_caption(graph, table)}
    view.update(_quality(graph, graph.edges_of_table(table.path)))
    in_latest = any(e.run_id in latest_runs for e in graph.edges_of_table(table.path))
    return {
        "kind": "table",
        "key": table.path,
        "name": label,
        "keys": list(dict.fromkeys([table.path, *table.names, *table.aliases, label])),
        "tags": [],
        **view,
        "latest": view if in_latest else None,
        "format": table.format,
        "names": table.names,
        "aliases": table.aliases,
        "schema": [list(c) for c in schema] if schema is not None else None,
        "seen": [_seen(graph, e) for e in reversed(seen[-MAX_HISTORY:])],
        "older": max(0, len(seen) - MAX_HISTORY),
    }


def _quality(graph: LineageGraph, edges: list[Edge]) -> dict[str, str]:
    """The table's data quality as its last checked write left it: `quality` "failed" (a blocking expectation
    failed: red outline) or "warned" (a warn one: orange), with the failed expectations in the caption; {} if
    every expectation passed or none was declared."""
    for edge in sorted(edges, key=lambda e: graph.runs[e.run_id].ended or graph.runs[e.run_id].started, reverse=True):
        results = [r for r in graph.runs[edge.run_id].expectations if r.table == edge.use.name]
        if edge.kind == CONSUMED or not results:
            continue
        failed = [r for r in results if not r.ok]
        if not failed:
            return {}
        blocking = any(r.action == "fail" for r in failed)
        status = "failed" if blocking else "cancelled"  # cancelled's orange marks a warning
        names = ", ".join(f"{r.name} ({r.failed:,} {r.action})" for r in failed)
        return {
            "quality": "failed" if blocking else "warned",
            "stroke": STATUS_COLOURS[status][1],
            "expectations": names,
        }
    return {}


def _view(status: str, detail: str) -> dict[str, str]:
    return {"status": status, "fill": STATUS_COLOURS[status][0], "stroke": STATUS_COLOURS[status][1], "detail": detail}


def _latest_flow_runs(graph: LineageGraph) -> set[str]:
    """The ids of the notebook runs of the newest top-level flow run and of the flows nested in it."""
    top = [f for f in graph.flows.values() if f.parent_run_id not in graph.runs]
    if not top:
        return set()
    flows = {max(top, key=lambda f: f.started).run_id}
    nested = [f for f in graph.flows.values() if f.run_id not in flows]
    while True:
        found = [
            f for f in nested if f.parent_run_id in graph.runs and graph.runs[f.parent_run_id].flow_run_id in flows
        ]
        if not found:
            break
        flows |= {f.run_id for f in found}
        nested = [f for f in nested if f.run_id not in flows]
    return {r.run_id for r in graph.runs.values() if r.flow_run_id in flows}


def _run(run: NotebookRun) -> dict[str, object]:
    return {
        "id": run.run_id,
        "flow": run.flow_run_id,
        "status": run.status.value,
        "reason": run.reason,
        "started": iso_time(run.started),
        "duration": duration_text(run.duration),
        "attempt": run.attempt,
        "args": [[k, v] for k, v in run.args.items()],
        "exit": run.exit_value,
        "error": run.error,
    }


def _seen(graph: LineageGraph, edge: Edge) -> dict[str, object]:
    run, state = graph.runs[edge.run_id], edge.use.state
    return {
        "kind": edge.kind,
        "notebook": run.rel_path or run.notebook_path,
        "time": iso_time(run.started if edge.kind == CONSUMED else (run.ended or run.started)),
        "version": edge.version,
        "rows": rows_text(edge.use.row_count),
        "size": f"{state.size_bytes:,} bytes" if state is not None and state.exists else "",
        "status": " · ".join(
            ([] if run.status.value == "succeeded" else [f"run {run.status.value}"])
            + [
                f"expectation {r.name}: {r.failed:,} failed ({r.action})"
                for r in run.expectations
                if not r.ok and r.table == edge.use.name
            ]
        ),
    }
