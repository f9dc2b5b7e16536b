"""The lineage document: what one flow run leaves on its storage, and how it is read back.

Each flow run writes one JSON document, `<storage base>/<root_dir>/_dtflw/runs/<flow_run_id>.json`,
replaced atomically as its notebooks run (a Databricks job run's flow is also in one document per task
attempt, `<flow_run_id>.<task key>.<task run id>.json`: see `dtflw.runtime.task_lineage`). Format
(version 1); times are seconds since the epoch:

```
{
  "format": "dtflw-lineage", "version": 1,
  "flow_run": {"run_id", "notebook_path", "storage_url", "root_dir", "parent_run_id",
               "started", "ended", "status"},
  "notebook_runs": [
    {"run_id", "flow_run_id", "notebook_path", "rel_path", "args": {name: value}, "parent_run_id",
     "attempt", "status", "reason", "started", "ended", "exit_value", "error",
     "source_fingerprint", "tags": [..],
     "inputs": [use, ..], "outputs": [use, ..], "expectations": [expectation, ..]}
  ]
}
use:   {"name", "path", "format", "alias", "schema": [[column, type], ..] | null, "row_count",
        "state": state | null}
expectation: {"table", "name", "rule", "expression", "action": "warn" | "fail", "passed", "failed",
        "detail", "samples": [{column: text}, ..]}   (failed: rows where the expression is false)
state: {"exists", "format", "version", "last_operation", "file_count", "size_bytes",
        "modified_ms", "fingerprint", "table_id", "problem"}
```
`status` is `running`, `succeeded`, `failed`, `skipped` or `cancelled`; args hold `[REDACTED]` for secrets.
A document read back is validated first (`dtflw.lineage.document_schema`: strict types, finite times
up to year 9999, counts within 64 bits); one that fails is a `LineageDocumentError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dtflw.errors import LineageDocumentError
from dtflw.events import FlowRun, NotebookRun, RunStatus, TableUse
from dtflw.expectations.spec import ExpectationResult
from dtflw.storage.tables import TableState

if TYPE_CHECKING:
    from dtflw.storage.base import Storage

FORMAT = "dtflw-lineage"
VERSION = 1
RUNS_DIR = "_dtflw/runs"

_STATE_FIELDS = (
    "exists",
    "format",
    "version",
    "last_operation",
    "file_count",
    "size_bytes",
    "modified_ms",
    "fingerprint",
    "table_id",
    "problem",
)


def runs_folder(storage: Storage) -> str:
    """The folder (relative to the storage base) holding the documents of `storage`'s flow runs."""
    return storage.get_path_in_root_dir(RUNS_DIR)


def document_path(storage: Storage, flow_run_id: str) -> str:
    return f"{runs_folder(storage)}/{flow_run_id}.json"


# -- writing ------------------------------------------------------------------------------------
def flow_to_dict(flow: FlowRun) -> dict[str, Any]:
    return {
        "run_id": flow.run_id,
        "notebook_path": flow.notebook_path,
        "storage_url": flow.storage_url,
        "root_dir": flow.root_dir,
        "parent_run_id": flow.parent_run_id,
        "started": flow.started,
        "ended": flow.ended,
        "status": RunStatus(flow.status).value,
    }


def run_to_dict(run: NotebookRun) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "flow_run_id": run.flow_run_id,
        "notebook_path": run.notebook_path,
        "rel_path": run.rel_path,
        "args": dict(run.args),
        "parent_run_id": run.parent_run_id,
        "attempt": run.attempt,
        "status": RunStatus(run.status).value,
        "reason": run.reason,
        "started": run.started,
        "ended": run.ended,
        "exit_value": run.exit_value,
        "error": run.error,
        "source_fingerprint": run.source_fingerprint,
        "tags": list(run.tags),
        "inputs": [use_to_dict(u) for u in run.inputs],
        "outputs": [use_to_dict(u) for u in run.outputs],
        "expectations": [r.to_dict() for r in run.expectations],
    }


def use_to_dict(use: TableUse) -> dict[str, Any]:
    state = use.state
    return {
        "name": use.name,
        "path": use.path,
        "format": use.format,
        "alias": use.alias,
        "schema": [list(column) for column in use.schema] if use.schema is not None else None,
        "row_count": use.row_count,
        "state": None if state is None else {f: getattr(state, f) for f in _STATE_FIELDS},
    }


def document_text(flow: dict[str, Any], run_fragments: list[str]) -> str:
    """A document from its flow run (a dict) and its notebook runs, each already JSON text."""
    head = json.dumps({"format": FORMAT, "version": VERSION, "flow_run": flow}, ensure_ascii=False)
    return head[:-1] + ', "notebook_runs": [' + ", ".join(run_fragments) + "]}"


# -- reading ------------------------------------------------------------------------------------
def parse_document(text: str) -> tuple[FlowRun, list[NotebookRun]]:
    """The flow run and notebook runs of a document; `LineageDocumentError` says what is wrong with it."""
    from dtflw.lineage.document_schema import validated

    try:
        doc = json.loads(text)
    except ValueError as e:
        raise LineageDocumentError(f"not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise LineageDocumentError(f'not a dtflw lineage document (no "format": "{FORMAT}")')
    version = doc.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise LineageDocumentError(
            f"document version {version!r} is newer than this dtflw reads ({VERSION}); upgrade dtflw"
        )
    try:
        doc = validated(doc)
    except ValueError as e:
        raise LineageDocumentError(f"malformed document ({e})") from None
    return _flow(doc["flow_run"]), [_run(r) for r in doc["notebook_runs"]]


def _flow(d: Mapping[str, Any]) -> FlowRun:
    return FlowRun(
        run_id=d["run_id"],
        notebook_path=d.get("notebook_path") or "",
        storage_url=d.get("storage_url") or "",
        root_dir=d.get("root_dir") or "",
        parent_run_id=d.get("parent_run_id"),
        started=d["started"],
        ended=d.get("ended"),
        status=RunStatus(d.get("status", "running")),
    )


def _run(d: Mapping[str, Any]) -> NotebookRun:
    return NotebookRun(
        run_id=d["run_id"],
        flow_run_id=d["flow_run_id"],
        notebook_path=d["notebook_path"],
        rel_path=d.get("rel_path") or "",
        args=d.get("args") or {},
        inputs=[_use(u) for u in d.get("inputs") or ()],
        outputs=[_use(u) for u in d.get("outputs") or ()],
        parent_run_id=d.get("parent_run_id"),
        attempt=d.get("attempt", 1),
        status=RunStatus(d["status"]),
        reason=d.get("reason"),
        started=d["started"],
        ended=d.get("ended"),
        exit_value=d.get("exit_value"),
        error=d.get("error"),
        source_fingerprint=d.get("source_fingerprint"),
        tags=tuple(d.get("tags") or ()),
        expectations=[ExpectationResult.from_dict(r) for r in d.get("expectations") or ()],
    )


def _use(d: Mapping[str, Any]) -> TableUse:
    state, schema, path = d.get("state"), d.get("schema"), d.get("path") or ""
    return TableUse(
        name=d["name"],
        path=path,
        format=d.get("format"),
        alias=d.get("alias"),
        state=None if state is None else TableState(path=path, **state),
        schema=None if schema is None else [(name, kind) for name, kind in schema],
        row_count=d.get("row_count"),
    )
