"""Closing the lineage of an ended job run: each task's record gets its terminal state, the job run its flow.

    run = follow(client, run_id)
    close_job_run(client, run)      # what `dtflw deploy run` does once the run has ended

A task's notebook records its run as `running` when it starts (`dtflw.runtime.task_lineage`); it cannot
record its end, as a notebook on Databricks has no hook at its end. The Jobs API knows it: for every
task of the run this writes the task's terminal state into its record — `succeeded` (with its
outputs' states, schemas and row counts read now, and its run history recorded for lazy runs as a
flow records it), `failed` (with the notebook's error from `runs/get-output`), `cancelled`, or
`skipped` for a task that never started (a record is made for it, and for a task whose notebook ended
before it recorded itself). Attempts a retry replaced are closed failed. The flow run of the job run
is written last, with the run's result. Closing twice writes the same: a closed record stays closed.
Never raises for a storage error: it warns, and the records stay open.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from dtflw.core.widgets import JOB_WIDGET
from dtflw.deploy.jobs_runner import NOT_RUN, SUCCEEDED, task_error
from dtflw.errors import LineageDocumentError
from dtflw.events import FlowRun, NotebookRun, RunStatus, TableUse
from dtflw.lineage.document import parse_document, runs_folder
from dtflw.lineage.recorder import LineageRecorder
from dtflw.runtime.task_lineage import (
    TaskIdentity,
    TaskRecorder,
    open_storage,
    table_uses,
    task_document,
)

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.jobs import Run, RunTask

    from dtflw.storage import Storage, StorageEnvironment

log = logging.getLogger("dtflw.deploy")
REPLACED = "a later attempt of the task replaced it"


def close_job_run(client: WorkspaceClient, run: Run, storage_env: StorageEnvironment | None = None) -> int:
    """Close the records of the tasks of ended job `run` (a `databricks.sdk` `Run`); return how many
    records were written. Tasks without a `dtflw_job` widget (not exported by dtflw) are left alone."""
    written = 0
    flows: dict[tuple[str, str], tuple[Storage, TaskIdentity]] = {}
    for task in run.tasks or []:
        try:
            identity = _identity_of(task, run)
            if identity is None:
                continue
            storage = open_storage(identity, storage_env)
            written += _close_task(client, storage, identity, task, run)
            flows.setdefault((identity.storage, identity.root_dir), (storage, identity))
        except Exception as e:  # a storage error, a widget edited by hand: the records stay open
            log.warning(
                "dtflw lineage: could not close the record of task %s of run %s: %s", task.task_key, run.run_id, e
            )
    for storage, identity in flows.values():
        try:
            _write_flow(storage, identity, run)
            written += 1
        except Exception as e:
            log.warning("dtflw lineage: could not record job run %s: %s", run.run_id, e)
    return written


def task_parameters(task: RunTask, run: Run) -> dict[str, str]:
    """A task's notebook parameters, with the job run's parameters (`{{job.parameters.x}}`) filled in."""
    from dtflw.deploy.parameters import filled

    parameters = (task.notebook_task.base_parameters or {}) if task.notebook_task else {}
    values = {  # neither a value nor a default: "", as `re.sub` made of the None it was given
        p.name: p.value if p.value is not None else (p.default or "")
        for p in run.job_parameters or ()
        if p.name is not None
    }
    return filled(parameters, values)


def _identity_of(task: RunTask, run: Run) -> TaskIdentity | None:
    text = task_parameters(task, run).get(JOB_WIDGET)
    if not text or task.run_id is None:
        return None
    identity = TaskIdentity.parse(text)
    return replace(identity, job_run=str(run.run_id), task_run=str(task.run_id))


def _close_task(client: WorkspaceClient, storage: Storage, identity: TaskIdentity, task: RunTask, job_run: Run) -> int:
    written = _close_replaced_attempts(storage, identity)
    document = task_document(storage, identity)
    flow, run = _read(storage, document)
    status, reason = _terminal(task)
    if run is not None and run.status != RunStatus.RUNNING:
        return written  # closed before
    parameters = task_parameters(task, job_run)
    if run is None:  # never started, or ended before its notebook recorded itself
        inputs, outputs = table_uses(storage, identity, lambda name: parameters.get(name, ""))
        if status == RunStatus.SKIPPED:
            inputs = [TableUse(u.name, u.path) for u in inputs]  # it read nothing
        started = (task.start_time or 0) / 1000 or time.time()
        run = NotebookRun(
            run_id=identity.run_id,
            flow_run_id=identity.flow_run_id,
            notebook_path=identity.notebook,
            rel_path=identity.rel_path,
            args={name: parameters.get(name, "") for name in identity.args},
            inputs=inputs,
            outputs=outputs,
            attempt=(task.attempt_number or 0) + 1,
            started=started,
            tags=identity.tags,
        )
        flow = _flow(identity, started)
    run.status, run.reason = status, reason
    run.ended = (task.end_time or 0) / 1000 or time.time()
    if status == RunStatus.FAILED:
        run.error = task_error(client, task) or (task.state.state_message if task.state else None)
    for use in run.outputs:
        if use.path and status != RunStatus.SKIPPED:
            use.state = storage.table_state(use.path)
            use.format = use.format or use.state.format
    if status == RunStatus.SUCCEEDED:
        _record_history(storage, run, identity.source or None)
    assert flow is not None  # read with its run, or made with it above
    _write(storage, document, flow, run)
    return written + 1


def _close_replaced_attempts(storage: Storage, identity: TaskIdentity) -> int:
    """Close the records of earlier attempts of the task still open: a retry replaced each."""
    prefix = f"{identity.flow_run_id}.{identity.task}."
    current = task_document(storage, identity).rsplit("/", 1)[-1]
    written = 0
    for info in storage.list_dir(runs_folder(storage)):
        if not info.name.startswith(prefix) or info.name == current or ".tmp-" in info.name:
            continue
        flow, run = _read(storage, info.path)
        if flow is not None and run is not None and run.status == RunStatus.RUNNING:  # a run is read with its flow
            run.status, run.reason, run.ended = RunStatus.FAILED, REPLACED, time.time()
            _write(storage, info.path, flow, run)
            written += 1
    return written


def _terminal(task: RunTask) -> tuple[RunStatus, str | None]:
    """The record status of an ended task run, and why when it did not run."""
    state = task.state
    life = state.life_cycle_state.value if state and state.life_cycle_state else ""
    result = state.result_state.value if state and state.result_state else None
    if life == "SKIPPED" or result in NOT_RUN:
        return RunStatus.SKIPPED, (result or life).lower()
    if life == "TERMINATED" and result in SUCCEEDED:
        return RunStatus.SUCCEEDED, None
    if result == "CANCELED":
        return RunStatus.CANCELLED, "cancelled"
    return RunStatus.FAILED, (result or life).lower() or None


def _record_history(storage: Storage, run: NotebookRun, source: str | None) -> None:
    """The run history a flow keeps for a successful run, so that a lazy run of the flow skips the step
    (unless its notebook `source`, as exported, was edited since)."""
    from dtflw.incremental import Fingerprint, RunHistory
    from dtflw.incremental.key import storage_key

    outputs = [u.path for u in run.outputs if u.path]
    if not outputs:
        return
    versions = {u.name: u.state.identity if u.state and u.state.exists else "" for u in run.inputs}
    fingerprint = Fingerprint.of(source, run.args, versions, storage_key(storage))
    RunHistory(storage).record(run.notebook_path, outputs, fingerprint, run.run_id)


def _write_flow(storage: Storage, identity: TaskIdentity, run: Run) -> None:
    """The flow run of the job run, with the run's result (its own document, no notebook run)."""
    flow = _flow(identity, (run.start_time or 0) / 1000 or time.time())
    flow.ended = (run.end_time or 0) / 1000 or time.time()
    result = run.state.result_state.value if run.state and run.state.result_state else None
    flow.status = {"SUCCESS": RunStatus.SUCCEEDED, "CANCELED": RunStatus.CANCELLED}.get(result or "", RunStatus.FAILED)
    recorder = LineageRecorder(storage, describe_tables=False)
    recorder.on_flow_end(flow)


def _flow(identity: TaskIdentity, started: float) -> FlowRun:
    return FlowRun(
        run_id=identity.flow_run_id,
        notebook_path=identity.flow,
        storage_url=identity.storage,
        root_dir=identity.root_dir,
        started=started,
    )


def _read(storage: Storage, document: str) -> tuple[FlowRun | None, NotebookRun | None]:
    text = storage.read_text(document)
    if not text:
        return None, None
    try:
        flow, runs = parse_document(text)
    except LineageDocumentError as e:  # recorded again from the job run
        log.warning("dtflw lineage: %s: %s; recorded again from the job run", storage.get_abs_path(document), e)
        return None, None
    return flow, (runs[0] if runs else None)


def _write(storage: Storage, document: str, flow: FlowRun, run: NotebookRun) -> None:
    recorder = TaskRecorder(storage, document)
    recorder.on_notebook_end(flow, run)
    if not recorder.flush():
        log.warning("dtflw lineage: the record %s is not written yet", document)
