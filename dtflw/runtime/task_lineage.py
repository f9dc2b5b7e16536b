"""Lineage of a step run as a Databricks job task: its notebook records its own run.

A job has no orchestration notebook, so no flow records its steps. The export gives every task one
more widget, `dtflw_job`: a flat JSON object naming the flow (storage URL and root_dir, orchestration
notebook), the step (notebook, rel_path, task key, tags, the names of its args, inputs and outputs)
and the run, as the dynamic value references `{{job.run_id}}` and `{{task.run_id}}` that Databricks
replaces when the task runs (where a job left them unreplaced, the notebook context tags
`multitaskParentRunId` and `runId` stand in). It holds no secret: export refuses secret args, and a
storage URL names no credential.

When the notebook first calls `init_args`, `init_inputs` or `init_outputs`, `record_start` writes
its run, `running`, with its args, its inputs and their states, its outputs by path (all read from
its widgets), to `<root_dir>/_dtflw/runs/<flow run id>.<task key>.<task run id>.json`: one document
per task attempt, so parallel tasks never write the same file, and the same attempt recorded again
keeps its start. The flow run id derives from the job run id: every task of a job run (a repair
too) lands in one flow run. Before the notebook writes, its run-history record is marked started,
as a local run does, so no earlier success is taken for its outputs.

Its end: a notebook on Databricks has no hook at its end (only `dbutils.notebook.exit`, which it may
never call; a failing cell ends it with no callback), so it cannot record its own end reliably.
Whoever sees the job run end closes the records with the tasks' terminal states
(`dtflw.deploy.run_lineage.close_job_run`: `dtflw deploy run` after following the run, or a caller
of the Jobs API). Until then a record says `running`. Recording never fails the notebook: a storage
error is a warning on the `dtflw` logger.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dtflw.core.widgets import INPUT_SUFFIX, OUTPUT_SUFFIX, job_widget_value
from dtflw.errors import LineageDocumentError
from dtflw.events import FlowRun, NotebookRun, TableUse, scrub
from dtflw.lineage.document import runs_folder
from dtflw.lineage.recorder import LineageRecorder

if TYPE_CHECKING:
    from dtflw.core.step import LazyNotebook
    from dtflw.runtime import Runtime
    from dtflw.storage import Storage, StorageEnvironment

log = logging.getLogger("dtflw")

EXIT_TASK_VALUE = "dtflw_exit"  # the task value a job task's exit value is handed over in (to later tasks)
JOB_RUN_REFERENCE = "{{job.run_id}}"
TASK_RUN_REFERENCE = "{{task.run_id}}"
JOB_RUN_TAGS = ("multitaskParentRunId", "jobRunId")  # notebook context tags, where references were not replaced
TASK_RUN_TAGS = ("runId",)
FLUSH_SECONDS = 30.0
_NAMESPACE = uuid.UUID("5b0d7a52-7f0e-4f4e-9d5c-3c1f6f0d7a11")  # run ids of job runs are uuid5 in it
_GLOB = set("*?[{")
_seen: weakref.WeakSet[Runtime] = (
    weakref.WeakSet()
)  # runtimes whose notebook was looked at (recorded, or not a job task)


@dataclass(frozen=True)
class TaskIdentity:
    """What the `dtflw_job` widget says of a task: its flow, its step and (once resolved) its run."""

    storage: str
    root_dir: str
    flow: str
    notebook: str
    rel_path: str
    task: str
    tags: tuple[str, ...]
    args: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    aliases: tuple[str, ...]
    formats: tuple[str, ...]
    job_run: str = ""
    task_run: str = ""
    source: str = ""  # the notebook source's fingerprint at export: lazy runs after this one see edits
    optional: tuple[str, ...] = ()  # optional inputs: "" when absent as the task runs
    exit_value: str = ""  # a task value to set from the notebook's exit value: later tasks read it

    @classmethod
    def parse(cls, text: str) -> TaskIdentity:
        d = json.loads(text)
        lists = ("tags", "args", "inputs", "outputs", "aliases", "formats")
        fields: dict[str, Any] = {
            k: str(d.get(k) or "") for k in ("storage", "root_dir", "flow", "notebook", "rel_path", "task")
        }
        fields.update({k: tuple(str(v) for v in d.get(k) or ()) for k in lists})
        return cls(
            **fields,
            job_run=str(d.get("job_run") or ""),
            task_run=str(d.get("task_run") or ""),
            source=str(d.get("source") or ""),
            optional=tuple(str(v) for v in d.get("optional") or ()),
            exit_value=str(d.get("exit_value") or ""),
        )

    @property
    def flow_run_id(self) -> str:
        return job_flow_run_id(self.job_run)

    @property
    def run_id(self) -> str:
        return task_run_record_id(self.job_run, self.task_run)


def job_widget(nb: LazyNotebook, task_key: str, source: str | None = None) -> str:
    """The `dtflw_job` widget of step `nb` exported as task `task_key`, whose notebook source has the
    fingerprint `source` (compact JSON, no nested object: `}}` only ever closes a dynamic value reference)."""
    storage = nb.ctx.storage
    outputs = nb.get_outputs()
    fields: dict[str, Any] = {
        "storage": storage.url,
        "root_dir": storage.root_dir,
        "flow": nb.ctx.flow_run.notebook_path,
        "notebook": nb.abs_path,
        "rel_path": nb.rel_path,
        "task": task_key,
        "tags": list(nb.get_tags()),
        "args": sorted(nb.get_args()),
        "inputs": list(nb.get_inputs()),
        "outputs": list(outputs),
        "aliases": [o.alias for o in outputs.values()],
        "formats": [o.table_format or "" for o in outputs.values()],
        "job_run": JOB_RUN_REFERENCE,
        "task_run": TASK_RUN_REFERENCE,
    }
    if source:
        fields["source"] = source
    optional = [name for name, table in nb.get_inputs().items() if table.is_optional]
    if optional:
        fields["optional"] = optional
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def job_flow_run_id(job_run_id: str) -> str:
    """The flow run id of a job run: the same for every task of it."""
    return str(uuid.uuid5(_NAMESPACE, f"job-run:{job_run_id}"))


def task_run_record_id(job_run_id: str, task_run_id: str) -> str:
    """The notebook run id of one task attempt."""
    return str(uuid.uuid5(_NAMESPACE, f"task-run:{job_run_id}:{task_run_id}"))


def task_document(storage: Storage, identity: TaskIdentity, task_run_id: str | None = None) -> str:
    """The lineage document of one task attempt (relative to the storage base)."""
    return f"{runs_folder(storage)}/{identity.flow_run_id}.{identity.task}.{task_run_id or identity.task_run}.json"


def open_storage(identity: TaskIdentity, env: StorageEnvironment | None = None) -> Storage:
    """The flow's storage, as the widget names it."""
    from dtflw.storage import from_url

    storage = from_url(identity.storage, env)
    if identity.root_dir and storage.root_dir != identity.root_dir.strip("/"):
        storage._root_dir = identity.root_dir.strip("/")  # a folder URL carries no root_dir
    return storage


class TaskRecorder(LineageRecorder):
    """A lineage recorder writing one task attempt's document (not one per flow run)."""

    def __init__(self, storage: Storage, document: str, secrets: Collection[str] = ()) -> None:
        super().__init__(storage, secrets=secrets)
        self._document_name = document

    def _document(self, flow_run_id: str) -> str:
        return self._document_name


def table_uses(
    storage: Storage, identity: TaskIdentity, widget: Callable[[str], str]
) -> tuple[list[TableUse], list[TableUse]]:
    """The inputs (with their states now) and outputs (by path) of a task, `widget(name)` giving the
    value of a widget ("" if it has none)."""

    def path(name: str) -> str:
        value = widget(name)
        return storage.logical_path(value) if value else ""

    inputs: list[TableUse] = []
    for name in identity.inputs:
        where = path(name + INPUT_SUFFIX)
        state = storage.table_state(where) if where and not (_GLOB & set(where)) else None
        inputs.append(TableUse(name, where, state.format if state else None, state=state))
    outputs = [
        TableUse(name, path(name + OUTPUT_SUFFIX), fmt or None, alias)
        for name, alias, fmt in zip(identity.outputs, identity.aliases, identity.formats, strict=False)
    ]
    return inputs, outputs


def record_start(runtime: Runtime) -> None:
    """Record the run of this notebook as a job task (once per task attempt), if it is one."""
    try:
        if runtime in _seen:
            return
        _seen.add(runtime)
        identity = _identity(runtime)
        if identity is not None and identity.exit_value:
            _hand_over_exit_value(runtime, identity.exit_value)
        identity = _with_run_ids(identity, runtime) if identity is not None else None
        if identity is not None:
            _record(runtime, identity)
    except Exception as e:  # recording must never fail the notebook
        log.warning("dtflw lineage: could not record this job task's run: %s", _scrubbed(e, runtime))


def _hand_over_exit_value(runtime: Runtime, key: str) -> None:
    """From now on, the notebook's `dbutils.notebook.exit(value)` first sets task value `key` to `value`."""
    notebook = runtime.dbutils.notebook
    exit_notebook = notebook.exit

    def exit(value: str = "") -> None:
        runtime.dbutils.jobs.taskValues.set(key=key, value=value)
        exit_notebook(value)

    try:
        notebook.exit = exit
    except (AttributeError, TypeError) as e:
        log.warning(
            "dtflw: this task's exit value cannot be handed to later tasks (%s); set it yourself with "
            "dbutils.jobs.taskValues.set(%r, value) before dbutils.notebook.exit(value).",
            e,
            key,
        )


def absent_optional_inputs(runtime: Runtime, paths: dict[str, str]) -> set[str]:
    """The optional inputs of this job task (by name, of `paths`) whose tables are absent now: a job has no
    orchestration notebook to find them absent as the step starts, so the task does."""
    identity = _identity(runtime)
    names = [n for n in (identity.optional if identity else ()) if paths.get(n)]
    if identity is None or not names:
        return set()
    storage = open_storage(identity, runtime.storage_environment())
    return {name for name in names if not storage.exists(paths[name])}


def _identity(runtime: Runtime) -> TaskIdentity | None:
    """What the notebook's `dtflw_job` widget says, if it is a task of an exported job."""
    text = job_widget_value(runtime.dbutils.widgets)
    return TaskIdentity.parse(text) if text else None


def _with_run_ids(identity: TaskIdentity, runtime: Runtime) -> TaskIdentity | None:
    """`identity` with its job and task run ids resolved, or None outside a job run."""
    job_run = _resolved(identity.job_run, runtime, JOB_RUN_TAGS)
    task_run = _resolved(identity.task_run, runtime, TASK_RUN_TAGS)
    if not job_run or not task_run:
        log.info(
            "dtflw lineage: %s runs outside a job run (no job or task run id): not recorded", runtime.notebook_path
        )
        return None
    return replace(identity, job_run=job_run, task_run=task_run)


def _resolved(value: str, runtime: Runtime, tags: tuple[str, ...]) -> str:
    """A run id as the reference gave it, else from the notebook context's tags."""
    if value and "{{" not in value:
        return value
    from dtflw.runtime import context_tag

    try:
        context_tags = runtime.dbutils.notebook.entry_point.getDbutils().notebook().getContext().tags()
    except Exception:  # no notebook context (Databricks Connect)
        return ""
    for tag in tags:
        found = context_tag(context_tags, tag)
        if found:
            return str(found)
    return ""


def _record(runtime: Runtime, identity: TaskIdentity) -> None:
    from dtflw.incremental import RunHistory

    storage = open_storage(identity, runtime.storage_environment())
    document = task_document(storage, identity)
    started, attempt = _earlier_record(storage, document, identity)
    widgets = runtime.dbutils.widgets

    def widget(name: str) -> str:
        try:
            value: str = widgets.get(name)
            return value
        except Exception:  # an optional input not passed
            return ""

    inputs, outputs = table_uses(storage, identity, widget)
    run = NotebookRun(
        run_id=identity.run_id,
        flow_run_id=identity.flow_run_id,
        notebook_path=identity.notebook or runtime.notebook_path,
        rel_path=identity.rel_path,
        args={name: widget(name) for name in identity.args},
        inputs=inputs,
        outputs=outputs,
        attempt=attempt,
        started=started,
        tags=identity.tags,
    )
    flow = FlowRun(
        run_id=identity.flow_run_id,
        notebook_path=identity.flow,
        storage_url=identity.storage,
        root_dir=identity.root_dir,
        started=started,
    )
    if runtime.run_id is None:
        runtime.run_id = run.run_id  # a flow this notebook opens is a child of this run
    RunHistory(storage).invalidate(run.notebook_path, [u.path for u in outputs if u.path], run.run_id)
    recorder = TaskRecorder(storage, document, secrets=runtime.secret_values)
    recorder.on_notebook_start(flow, run)
    if not recorder.flush(FLUSH_SECONDS):
        log.warning("dtflw lineage: the run of job task %s is not recorded yet", identity.task)


def _earlier_record(storage: Storage, document: str, identity: TaskIdentity) -> tuple[float, int]:
    """(start, attempt) of this task attempt: as recorded before (the same attempt recorded again),
    else now and one more than the attempts of this task already recorded in this job run."""
    from dtflw.lineage.document import parse_document

    text = storage.read_text(document)
    try:
        runs = parse_document(text)[1] if text else []
    except LineageDocumentError as e:  # recorded again by this attempt
        log.warning("dtflw lineage: %s: %s; recorded again", storage.get_abs_path(document), e)
        runs = []
    if runs:
        return runs[0].started, runs[0].attempt
    prefix = f"{identity.flow_run_id}.{identity.task}."
    earlier = [i for i in storage.list_dir(runs_folder(storage)) if i.name.startswith(prefix)]
    return time.time(), len(earlier) + 1


def _scrubbed(error: Exception, runtime: Runtime) -> str:
    return scrub(f"{type(error).__name__}: {error}", runtime.secret_values)
