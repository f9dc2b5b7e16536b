"""Issue 18, point 3 for job runs: a task attempt's lineage document that is not a document (damaged,
hostile) is recorded again, never a crash of the closing run or of the task's notebook."""

from __future__ import annotations

import time

from dtflw.deploy.run_lineage import _read
from dtflw.runtime.task_lineage import TaskIdentity, _earlier_record, task_document
from dtflw.storage.base import FolderStorage

IDENTITY = TaskIdentity(
    storage="file:///s", root_dir="", flow="/Users/t/main", notebook="/Users/t/a", rel_path="a", task="a",
    tags=(), args=(), inputs=(), outputs=(), aliases=(), formats=(), job_run="7", task_run="8",
)  # fmt: skip
DAMAGED = '{"format": "dtflw-lineage", "version": 1, "flow_run": {"run_id": "f", "started": NaN}, "notebook_runs": []}'


def test_a_damaged_task_document_is_read_as_none_and_named(tmp_path, caplog):
    storage = FolderStorage(str(tmp_path))
    document = task_document(storage, IDENTITY)
    storage.write_text(document, DAMAGED)
    assert _read(storage, document) == (None, None)
    assert f"{storage.get_abs_path(document)}: malformed document (flow_run.started" in caplog.text


def test_a_damaged_task_document_of_this_attempt_starts_it_anew(tmp_path, caplog):
    storage = FolderStorage(str(tmp_path))
    document = task_document(storage, IDENTITY)
    storage.write_text(document, DAMAGED)
    started, attempt = _earlier_record(storage, document, IDENTITY)
    assert abs(started - time.time()) < 60 and attempt >= 1
    assert f"{storage.get_abs_path(document)}: malformed document" in caplog.text
