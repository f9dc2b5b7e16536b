"""Flow runs a dead run left `running`: ended `cancelled` by the next run that takes the storage's lease.

A run that ends gives its storage's lease back; one that dies (a second Ctrl-C, which exits at once,
or kill -9) leaves its name in the lease. As one run writes a storage at a time, the flow runs still
`running` on that storage since the dead run took the lease are its own: the next run to take the
lease ends them, and their running notebooks, `cancelled`, so none stays `running` forever.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from dtflw.errors import LineageDocumentError
from dtflw.events import RunStatus
from dtflw.lineage.document import parse_document, runs_folder

if TYPE_CHECKING:
    from dtflw.storage.base import Storage
    from dtflw.storage.lease import Holder

log = logging.getLogger("dtflw")

CLOCK_SLACK_SECONDS = 5.0  # flows started this long before the lease was taken are still the dead run's


def close_abandoned_runs(storage: Storage, holder: Holder) -> list[str]:
    """End `cancelled` the flow runs on `storage` that the dead lease `holder` left running; their ids."""
    closed = []
    for info in storage.list_dir(runs_folder(storage)):
        if info.is_dir or not info.name.endswith(".json") or info.name.startswith(".") or ".tmp-" in info.name:
            continue
        try:
            text = storage.read_text(info.path) or ""
            flow, _ = parse_document(text)
        except (LineageDocumentError, OSError):  # not ours to repair: `dtflw lineage` reports it
            continue
        if flow.status != RunStatus.RUNNING or flow.started < holder.since - CLOCK_SLACK_SECONDS:
            continue
        storage.write_text(info.path, json.dumps(_cancelled(json.loads(text), holder), ensure_ascii=False))
        closed.append(flow.run_id)
        log.warning(
            "dtflw: flow run %s was left running by %s, which ended without closing it; recorded as cancelled.",
            flow.run_id,
            holder.describe(),
        )
    return closed


def _cancelled(document: dict[str, Any], holder: Holder) -> dict[str, Any]:
    """The document with its flow run and running notebook runs ended `cancelled` now."""
    now = time.time()
    error = f"cancelled: {holder.describe()} ended without closing this run"
    document["flow_run"].update(status=RunStatus.CANCELLED.value, ended=now)
    for run in document["notebook_runs"]:
        if run.get("status") == RunStatus.RUNNING.value:
            run.update(status=RunStatus.CANCELLED.value, ended=now, error=error)
    return document
