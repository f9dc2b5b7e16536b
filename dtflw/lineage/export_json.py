"""The lineage graph as one JSON document.

Schema (`"format": "dtflw-lineage-graph"`, version 1). Times are ISO-8601 UTC strings,
durations seconds; `null` where unknown.

```
{
  "format": "dtflw-lineage-graph", "version": 1,
  "flows": [{"run_id", "notebook_path", "storage_url", "root_dir", "parent_run_id",
             "status", "started", "ended", "duration"}],
  "notebooks": [{"path", "rel_paths": [..], "source_fingerprints": [..], "tags": [..],
                 "run_ids": [..]}],                                   # run ids oldest first
  "tables": [{"path", "names": [..], "aliases": [..], "format",
              "versions": [{"version",          # "v3" (Delta), a parquet fingerprint prefix, "missing"
                            "fingerprint", "delta_version", "exists", "file_count", "size_bytes",
                            "modified_ms",      # newest file's modification, ms since the epoch
                            "row_count", "schema": [{"name", "type"}] | null}]}],
                                                # each version seen once, oldest first
  "runs": [{"run_id", "flow_run_id", "notebook_path", "rel_path", "parent_run_id", "attempt",
            "status", "reason", "started", "ended", "duration", "args": {name: value},
            "exit_value", "error", "source_fingerprint", "tags": [..]}],
  "edges": [{"kind": "consumed" | "produced", "run_id", "notebook_path", "table_path",
             "name", "alias", "format", "version", "fingerprint"}],
                                                # (table_path, fingerprint) is one of the table's versions
  "problems": ["<file>: <why it was skipped>", ..]
}
```
`status` is `running`, `succeeded`, `failed` or `skipped` (`reason` says why it was skipped);
an edge states what a run declared, so only succeeded runs produced their `produced` tables and
skipped runs consumed nothing. Secret args appear as `[REDACTED]`.
"""

from __future__ import annotations

from typing import Any

import orjson

from dtflw.events import FlowRun, NotebookRun
from dtflw.gc_pause import paused_gc
from dtflw.lineage.graph import Edge, LineageGraph, NotebookNode, TableNode
from dtflw.lineage.labels import iso_time

FORMAT = "dtflw-lineage-graph"
VERSION = 1

Versions = dict[str, dict[str | None, dict[str, object]]]  # table path → fingerprint → the version as first seen


def to_dict(graph: LineageGraph) -> dict[str, Any]:
    with paused_gc():
        versions = _versions(graph)
        return {
            "format": FORMAT,
            "version": VERSION,
            "flows": [_flow(f) for f in graph.flows.values()],
            "notebooks": [_notebook(n) for n in graph.notebooks.values()],
            "tables": [_table(t, versions) for t in graph.tables.values()],
            "runs": [_run(r) for r in graph.runs.values()],
            "edges": [_edge(e) for e in graph.edges],
            "problems": graph.problems,
        }


def _flow(f: FlowRun) -> dict[str, object]:
    return {
        "run_id": f.run_id,
        "notebook_path": f.notebook_path,
        "storage_url": f.storage_url,
        "root_dir": f.root_dir,
        "parent_run_id": f.parent_run_id,
        "status": f.status.value,
        "started": iso_time(f.started),
        "ended": iso_time(f.ended),
        "duration": None if f.ended is None else f.ended - f.started,
    }


def _notebook(n: NotebookNode) -> dict[str, object]:
    return {
        "path": n.path,
        "rel_paths": n.rel_paths,
        "source_fingerprints": n.source_fingerprints,
        "tags": n.tags,
        "run_ids": n.run_ids,
    }


def _table(t: TableNode, versions: Versions) -> dict[str, object]:
    return {
        "path": t.path,
        "names": t.names,
        "aliases": t.aliases,
        "format": t.format,
        "versions": list(versions.get(t.path, {}).values()),
    }


def _run(r: NotebookRun) -> dict[str, object]:
    return {
        "run_id": r.run_id,
        "flow_run_id": r.flow_run_id,
        "notebook_path": r.notebook_path,
        "rel_path": r.rel_path,
        "parent_run_id": r.parent_run_id,
        "attempt": r.attempt,
        "status": r.status.value,
        "reason": r.reason,
        "started": iso_time(r.started),
        "ended": iso_time(r.ended),
        "duration": r.duration,
        "args": r.args,
        "exit_value": r.exit_value,
        "error": r.error,
        "source_fingerprint": r.source_fingerprint,
        "tags": list(r.tags),
    }


def _edge(e: Edge) -> dict[str, object]:
    return {
        "kind": e.kind,
        "run_id": e.run_id,
        "notebook_path": e.notebook,
        "table_path": e.table,
        "name": e.use.name,
        "alias": e.use.alias,
        "format": e.use.format or (e.use.state.format if e.use.state else None),
        "version": e.version,
        "fingerprint": e.use.state.fingerprint if e.use.state else None,
    }


def _versions(graph: LineageGraph) -> Versions:
    """Each table's versions by fingerprint, as first seen; what one sighting lacks another may give."""
    versions: Versions = {}
    for edge in graph.edges:
        use, state = edge.use, edge.use.state
        fingerprint = state.fingerprint if state else None
        of_table = versions.setdefault(edge.table, {})
        known = of_table.get(fingerprint)
        if known is None:
            of_table[fingerprint] = {
                "version": edge.version,
                "fingerprint": fingerprint,
                "delta_version": state.version if state else None,
                "exists": state.exists if state else None,
                "file_count": state.file_count if state else None,
                "size_bytes": state.size_bytes if state else None,
                "modified_ms": state.modified_ms if state else None,
                "row_count": use.row_count,
                "schema": [{"name": n, "type": t} for n, t in use.schema] if use.schema is not None else None,
            }
        else:
            if known["row_count"] is None:
                known["row_count"] = use.row_count
            if known["schema"] is None and use.schema is not None:
                known["schema"] = [{"name": n, "type": t} for n, t in use.schema]
    return versions


def render(graph: LineageGraph) -> str:
    return orjson.dumps(to_dict(graph)).decode()
