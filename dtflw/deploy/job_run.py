"""A whole planned flow as one multi-task one-time run: submit it, follow each task, repair what failed.

    run_id = submit_flow(client, job_settings(tasks, "retail"))
    run = follow(client, run_id, on_change=print)
    raise_failures(client, run)            # DagFailedError naming every failed and skipped task
    repair_failed(client, run_id)          # jobs/runs/repair: the failed tasks and those after them

Repair re-runs tasks inside the original run where the API allows it; where it refuses (for example a
run too old to repair), the failed tasks and everything downstream of them are submitted as a new run.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from dtflw.deploy.jobs_runner import call_retrying, has_ended, submitted_run_id, task_error, task_failure
from dtflw.errors import DagFailedError, DeployError, NotebookSkippedError
from dtflw.selection import closure

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.jobs import Run, RunLifeCycleState, RunResultState, RunTask, SubmitTask

    from dtflw.deploy.export import JsonObject

LAST_RUNS = os.path.join(".dtflw", "deploy", "last_runs.json")
log = logging.getLogger("dtflw.deploy")


def submit_flow(client: WorkspaceClient, settings: JsonObject, only: set[str] | None = None) -> int:
    """Submit the tasks of job `settings` (only those in `only`, if given) as one one-time run.

    One-time runs have no shared job clusters: a task on the job cluster gets its spec as its own; the job's
    environments (of check tasks on serverless) are the run's."""
    from databricks.sdk.service.compute import ClusterSpec
    from databricks.sdk.service.jobs import JobEnvironment, SubmitTask, TaskDependency

    clusters = {c["job_cluster_key"]: c["new_cluster"] for c in settings.get("job_clusters", [])}
    tasks: list[SubmitTask] = []
    for spec in settings["tasks"]:
        if only is not None and spec["task_key"] not in only:
            continue
        task = SubmitTask.from_dict(spec)
        if spec.get("job_cluster_key"):
            task.new_cluster = ClusterSpec.from_dict(clusters[spec["job_cluster_key"]])
        if only is not None and task.depends_on:
            kept = [d.task_key for d in task.depends_on if d.task_key in only]
            task.depends_on = [TaskDependency(task_key=k) for k in kept] or None
        tasks.append(task)
    token = uuid.uuid4().hex  # the same on every retry: at most one run is started
    environments = [JobEnvironment.from_dict(e) for e in settings.get("environments", [])] or None
    waiter = call_retrying(
        client.jobs.submit, run_name=settings["name"], tasks=tasks, environments=environments, idempotency_token=token
    )
    return submitted_run_id(waiter)


def follow(
    client: WorkspaceClient,
    run_id: int,
    on_change: Callable[[RunTask], object] | None = None,
    poll: tuple[float, float] = (1.0, 10.0),
) -> Run:
    """Wait for the run to end; `on_change(task)` is called whenever a task's state changes."""
    seen: dict[str, tuple[RunLifeCycleState | None, RunResultState | None]] = {}
    delay, longest = poll
    while True:
        run = call_retrying(client.jobs.get_run, run_id)
        for task in run.tasks or []:
            state = task.state
            now = (state.life_cycle_state, state.result_state) if state else (None, None)
            if seen.get(task.task_key) != now:
                seen[task.task_key] = now
                if on_change is not None:
                    on_change(task)
        if has_ended(run):
            return run
        time.sleep(delay)
        delay = min(longest, delay * 1.5)


def task_errors(client: WorkspaceClient, run: Run) -> dict[str, Exception]:
    """{task key: dtflw error} of every task of an ended run that did not succeed."""
    errors: dict[str, Exception] = {}
    for task in run.tasks or []:
        notebook = task.notebook_task.notebook_path if task.notebook_task else task.task_key
        where = f"task {task.task_key}, run {task.run_id}: {task.run_page_url or run.run_page_url}"
        failure = task_failure(task, notebook, where, lambda t: task_error(client, t), task.timeout_seconds or 0)
        if failure is not None:
            errors[task.task_key] = failure
    return errors


def raise_failures(client: WorkspaceClient, run: Run) -> None:
    """Raise DagFailedError naming every task of the ended run that failed or did not run."""
    errors = task_errors(client, run)
    if not errors:
        return
    failed = {k: e for k, e in errors.items() if not isinstance(e, NotebookSkippedError)}
    not_run = [k for k, e in errors.items() if isinstance(e, NotebookSkippedError)]
    raise DagFailedError.of(failed, not_run, what=f"task(s) of run {run.run_id}")


def repair_failed(client: WorkspaceClient, run_id: int, settings: JsonObject) -> int:
    """Re-run the failed tasks of run `run_id` and those after them; return the run id to follow
    (the same run when repaired in place, else a new run of just those tasks)."""
    from databricks.sdk.errors import BadRequest

    run = call_retrying(client.jobs.get_run, run_id, include_history=True)
    failed = set(task_errors(client, run))
    if not failed:
        raise DeployError(f"Run {run_id} has no failed task to repair.")
    history = [r for r in run.repair_history or [] if r.id is not None]
    try:
        client.jobs.repair_run(
            run_id, rerun_all_failed_tasks=True, latest_repair_id=history[-1].id if history else None
        )
        return run_id
    except BadRequest as e:  # not repairable in place: resubmit the failed tasks and their downstream
        log.info("Run %s cannot be repaired in place (%s); submitting its failed tasks anew", run_id, e)
        return submit_flow(client, settings, only=_downstream(settings, failed))


def _downstream(settings: JsonObject, keys: set[str]) -> set[str]:
    children: dict[str, set[str]] = {t["task_key"]: set() for t in settings["tasks"]}
    for task in settings["tasks"]:
        for dep in task.get("depends_on", []):
            children[dep["task_key"]].add(task["task_key"])
    return closure(keys, children)


def remember_run(name: str, host: str, run_id: int, settings: JsonObject, path: str = LAST_RUNS) -> None:
    """Keep the last run of job `name` on `host` (and its settings) for `--repair`."""
    known = _read(path)
    known[f"{host} {name}"] = {"run_id": run_id, "settings": settings}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(known, f)


def last_run(name: str, host: str, path: str = LAST_RUNS) -> tuple[int, JsonObject]:
    """The last run of job `name` on `host` and its settings, as `remember_run` kept them."""
    entry = _read(path).get(f"{host} {name}")
    if entry is None:
        raise DeployError(f"No earlier run of '{name}' on {host} is known here ({path}); run it first, then --repair.")
    return entry["run_id"], entry["settings"]


def _read(path: str) -> JsonObject:
    try:
        with open(path, encoding="utf-8") as f:
            known: JsonObject = json.load(f)
            return known
    except FileNotFoundError:
        return {}
