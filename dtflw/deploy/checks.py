"""A step's expectations in a job: a check task right after its notebook's task (`dtflw.run.check_task`).

The check task's key is `<notebook task key>_check`; the tasks that depended on the notebook's task depend on
its check instead, so a failed blocking expectation skips them, as in a local run.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from dtflw.core.names import unique_task_key
from dtflw.core.widgets import JOB_WIDGET, OUTPUT_SUFFIX
from dtflw.deploy.tasks import CHECK, DeployTask
from dtflw.errors import ExpectationsNotExportableError
from dtflw.run.check_task import EXPECTATIONS, IDENTITY, encode

if TYPE_CHECKING:
    from dtflw.core.step import LazyNotebook
    from dtflw.expectations.spec import Expectation
    from dtflw.run.dag import Plan

    Declared = dict[str, tuple[Expectation, ...]]  # {output name: its expectations}

CHECK_SUFFIX = "_check"


def with_checks(tasks: list[DeployTask], plans: list[Plan]) -> list[DeployTask]:
    """`tasks` (of the steps of `plans`, in order) with a check task after each step declaring expectations."""
    steps = [step.notebook for plan in plans for step in plan.steps]
    taken = {t.key for t in tasks}
    checks: dict[str, DeployTask] = {}
    for task, nb in zip(tasks, steps, strict=True):
        declared = {n: o.expectations for n, o in nb.get_outputs().items() if o.expectations}
        if declared:
            _refuse_ratio(nb, declared)
            key = unique_task_key(task.key + CHECK_SUFFIX, taken)
            taken.add(key)
            checks[task.key] = _check_task(task, key, declared)
    out: list[DeployTask] = []
    for task in tasks:
        after = [checks[k].key if k in checks else k for k in task.depends_on]
        out.append(replace(task, depends_on=after))
        if task.key in checks:
            out.append(checks[task.key])
    return out


def _check_task(task: DeployTask, key: str, declared: Declared) -> DeployTask:
    """The check of notebook task `task`: its `dtflw_job` widget naming this notebook task's run, its checked
    outputs' paths (`<name>_out`, so that they become job parameter references as the notebook's do)."""
    identity = json.loads(task.parameters[JOB_WIDGET])
    identity["task_run"] = "{{tasks." + task.key + ".run_id}}"
    parameters = {IDENTITY: json.dumps(identity, separators=(",", ":"), ensure_ascii=False)}
    parameters |= {n + OUTPUT_SUFFIX: task.parameters[n + OUTPUT_SUFFIX] for n in declared}
    parameters[EXPECTATIONS] = encode(declared)
    return DeployTask(
        key=key,
        notebook_path=task.notebook_path,
        parameters=parameters,
        depends_on=[task.key],
        tags=task.tags,
        step_name=task.step_name,
        kind=CHECK,
    )


def _refuse_ratio(nb: LazyNotebook, declared: Declared) -> None:
    """`min_ratio_to_previous` compares with the version the notebook replaced: a check after the task can no
    longer count it, and would pass it silently."""
    ratio = [f"{n}.{e.name}" for n, es in declared.items() for e in es if e.rule == "min_ratio_to_previous"]
    if ratio:
        raise ExpectationsNotExportableError(
            f"Notebook '{nb.rel_path}' declares {', '.join(ratio)}, which compares an output with the version its "
            "notebook replaced: a job's check task runs after the notebook wrote and cannot count that version. "
            "Use min_rows instead, or run the flow with `dtflw run`."
        )
