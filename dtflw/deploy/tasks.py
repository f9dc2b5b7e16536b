"""The steps of a planned orchestration notebook as job tasks: key, notebook, widgets, order, retries.

A job has no orchestration notebook: every decision the flow makes when a step starts is taken here,
once, at export time — input paths resolved to their producers, absent optional inputs passed as "".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from dtflw.core.names import unique_task_key
from dtflw.core.runner import source_fingerprint
from dtflw.core.widgets import JOB_WIDGET
from dtflw.errors import DeployError
from dtflw.runtime.task_lineage import job_widget

if TYPE_CHECKING:
    from dtflw.core.step import LazyNotebook
    from dtflw.local.workspace import LocalWorkspace
    from dtflw.run.dag import Plan

MAX_TASKS = 1000  # Jobs API 2.2: tasks per job
NOTEBOOK, CHECK = "notebook", "check"  # a step's notebook task; the check of its expectations after it


@dataclass
class DeployTask:
    """One notebook step as a job task, or the check task of its expectations (`kind` CHECK: `parameters`
    are its `--name=value` arguments, `notebook_path` the checked notebook's)."""

    key: str
    notebook_path: str  # workspace path
    parameters: dict[str, str]
    depends_on: list[str] = field(default_factory=list)
    max_retries: int = 0
    retry_interval_millis: int = 0
    timeout_seconds: int = 0
    tags: tuple[str, ...] = ()
    notebook_file: str | None = None  # the local source file, for bundles
    step_name: str | None = None  # a pipeline file's step name
    kind: str = NOTEBOOK


def tasks_from_plans(plans: list[Plan], notebook_file: Callable[[str], str] | None = None) -> list[DeployTask]:
    """Job tasks for the steps of `plans` (one per flow the notebook opened, in order).

    Dependencies come from each flow's DAG; a later flow starts after the last steps of the one before,
    as the orchestration notebook opened it only then. `notebook_file(workspace_path)` gives the
    local source file of a notebook (for bundles)."""
    steps = [step for plan in plans for step in plan.steps]
    if len(steps) > MAX_TASKS:
        raise DeployError(
            f"The flow has {len(steps)} notebook steps; a Databricks job holds at most {MAX_TASKS} tasks. "
            "Split the orchestration notebook into several, each exported as a job of its own."
        )
    keys = _task_keys([step.name for step in steps])
    tasks: list[DeployTask] = []
    previous_sinks: list[str] = []
    offset = 0
    for plan in plans:
        has_children = {d for s in plan.steps for d in s.deps}
        for step in plan.steps:
            nb = step.notebook
            key = keys[offset + step.index]
            depends = [keys[offset + d] for d in sorted(step.deps)] if step.deps else list(previous_sinks)
            tasks.append(
                DeployTask(
                    key=key,
                    notebook_path=nb.abs_path,
                    parameters=_parameters(nb, key),
                    depends_on=depends,
                    **_run_options(nb),
                    tags=tuple(nb.get_tags()),
                    step_name=nb.get_step_name(),
                    notebook_file=notebook_file(nb.abs_path) if notebook_file else None,
                )
            )
        previous_sinks = [keys[offset + s.index] for s in plan.steps if s.index not in has_children] or previous_sinks
        offset += len(plan.steps)
    return tasks


class _RunOptions(TypedDict):
    max_retries: int
    retry_interval_millis: int
    timeout_seconds: int


def _run_options(nb: LazyNotebook) -> _RunOptions:
    """Retries and timeout of a step, as the Jobs API names them (Jobs retry at a fixed interval)."""
    retries, backoff, _ = nb.retry_policy
    return {
        "max_retries": retries,
        "retry_interval_millis": int(round(backoff * 1000)) if retries else 0,
        "timeout_seconds": nb.get_timeout(),
    }


def _parameters(nb: LazyNotebook, key: str) -> dict[str, str]:
    """The widgets of a step, and `dtflw_job` by which its notebook records its run (see
    `dtflw.runtime.task_lineage`); refuses secret arguments, which a job would store in plain text."""
    secret = {n for n, v in nb.get_args().items() if v in nb.secret_arg_values() | nb.ctx.secret_values}
    if secret:
        raise DeployError(
            f"Notebook '{nb.rel_path}' has secret argument(s) {', '.join(sorted(secret))}: job parameters are "
            "stored and shown in plain text. Let the notebook read the secret itself with "
            "dbutils.secrets.get(scope, key), and pass the scope and key as arguments instead."
        )
    widgets = nb.widget_arguments()  # an optional input keeps its path: the task finds it absent (`init_inputs`)
    if JOB_WIDGET in widgets:
        raise DeployError(
            f"Notebook '{nb.rel_path}' has an argument named '{JOB_WIDGET}', the widget by which a job task records "
            "its lineage; rename the argument."
        )
    widgets[JOB_WIDGET] = job_widget(nb, key, source_fingerprint(nb.ctx.runner, nb.rel_path))
    return widgets


def _task_keys(names: list[str]) -> list[str]:
    """Unique task keys (ASCII letters, digits, `_`, `-`; at most 100 characters) from step names."""
    keys: list[str] = []
    seen: set[str] = set()
    for name in names:
        key = unique_task_key(name, seen)
        seen.add(key)
        keys.append(key)
    return keys


def planned_tasks(
    workspace: LocalWorkspace, file_path: str, arguments: dict[str, str] | None = None
) -> list[DeployTask]:
    """Plan the orchestration notebook `file_path` of a `LocalWorkspace` (running no step) and return
    its steps as job tasks (and the check tasks of their expectations)."""
    from dtflw.deploy.checks import with_checks
    from dtflw.run.planning import Planner

    planner = Planner()
    workspace.run(workspace.entry_path(file_path), arguments or {}, planner=planner)
    plans = planner.plans()
    return with_checks(tasks_from_plans(plans, notebook_file=workspace.notebook_file), plans)
