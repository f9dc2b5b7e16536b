"""An orchestration notebook or a pipeline file planned for export: its steps as job tasks, its job
parameters, and what planning did not perform — without running a step, starting Spark, or reading or
writing any storage (see `dtflw.deploy.offline`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dtflw.deploy.checks import with_checks
from dtflw.deploy.exit_values import with_task_values
from dtflw.deploy.offline import Offline, OfflineEngine, PlannedStorage
from dtflw.deploy.parameters import JobParameter, parameterize
from dtflw.deploy.tasks import DeployTask, tasks_from_plans
from dtflw.errors import DeployError, ExportPlanningError, LocalStorageExportError, NotebookFailedError

if TYPE_CHECKING:
    from dtflw.storage import Storage

LOCAL_ONLY = ("file",)  # storage schemes that name a place on this machine only


@dataclass(frozen=True)
class PlannedExport:
    tasks: list[DeployTask]
    parameters: list[JobParameter]
    skipped: list[str]  # what the orchestration notebook asked for that planning did not perform
    notebooks_root: str  # the local folder of the notebooks (a bundle syncs it)


def plan_export(
    source: str,
    *,
    storage_url: str | None,
    arguments: dict[str, str] | None = None,
    user: str | None = None,
    workspace_root: str | None = None,
    allow_local_storage: bool = False,
) -> PlannedExport:
    """Plan `source` for export. `storage_url` is the storage of `init_flow()` without one (default:
    DBFS `FileStore/<user>`, as on a cluster); a storage that exists only on this machine is refused
    unless `allow_local_storage` (a local stand-in for the Jobs API, in tests)."""
    from dtflw.core.options import RunOptions
    from dtflw.run.planning import Planner
    from dtflw.session.local import LocalSettings, open_local_session

    if storage_url and not allow_local_storage:
        _refuse_local(storage_url)
    source = os.path.abspath(source)
    planner: Planner  # made next, with the offline steps' results
    offline = Offline(declared=lambda: planner.declared)
    planner = Planner(planned_result=offline.exit_value)
    workspace = open_local_session(
        workspace_root or os.path.dirname(os.path.dirname(source)),
        OfflineEngine(offline),
        LocalSettings(user=user, storage_url=storage_url),
        RunOptions(planner=planner, storage_view=offline.view),
    ).workspace
    try:
        workspace.run(workspace.entry_path(source), arguments or {}, planner=planner)
    except NotebookFailedError as e:
        if isinstance(e.__cause__, ExportPlanningError):
            raise ExportPlanningError(str(e)) from e
        raise
    if not planner.dags:
        raise DeployError(f"{source} opened no flow (init_flow): there is nothing to export.")
    storages = [_real(dag.ctx.storage) for dag in planner.dags]
    if not allow_local_storage:
        for storage in storages:
            _refuse_local(storage.url)
    _refuse_choices(offline, planner.declared)
    plans = planner.plans()
    tasks = with_task_values(tasks_from_plans(plans, notebook_file=workspace.notebook_file), offline.exits, plans)
    tasks = with_checks(tasks, plans)
    runtime = planner.dags[0].ctx.runtime
    assert runtime is not None  # a flow the workspace opened has its notebook's runtime
    widgets = runtime.dbutils.widgets.getAll()
    tasks, parameters = parameterize(tasks, storages[0].url, widgets)
    return PlannedExport(tasks, parameters, list(offline.skipped), workspace.root)


def _refuse_choices(offline: Offline, declared: int) -> None:
    """A step declared after the flow looked at an exit value may depend on it: a job cannot choose so."""
    for step, declared_then in offline.checks:
        if declared_then < declared:
            raise ExportPlanningError(
                f"The orchestration notebook checks the exit value of step '{step}' and declares "
                f"{declared - declared_then} step(s) after that: a job cannot choose its steps by an exit value "
                "when it runs (dtflw exports no condition_task). Declare those steps whatever the value, or pass "
                "the value to a step as an argument and let it decide."
            )


def _refuse_local(url: str) -> None:
    from dtflw.storage import scheme_of

    if scheme_of(url) in LOCAL_ONLY:
        raise LocalStorageExportError(
            f"Storage {url} exists only on this machine: a job's notebooks cannot reach it. Export with the "
            "storage the job will use: --storage abfss://<container>@<account>.dfs.core.windows.net/<folder>, "
            "dbfs:/<folder> or /Volumes/<catalog>/<schema>/<volume>/<folder> (or $DTFLW_STORAGE, or `storage:` "
            "in a pipeline file)."
        )


def _real(storage: Storage) -> Storage:
    """The storage a planned flow's view (`PlannedStorage`) stands for."""
    return storage.real if isinstance(storage, PlannedStorage) else storage
