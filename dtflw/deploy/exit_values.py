"""A step's exit value handed to a later step of a job, as a task value.

While a flow is planned for export, `.run()` gives a stand-in for each step's exit value
(`dtflw.deploy.offline.PlannedExitValue`, a token). A later step's argument holding it (as is, or within a
longer string) gets the dynamic value reference `{{tasks.<producer>.values.dtflw_exit}}` instead, comes after
the producer (`depends_on`), and the producer's `dtflw_job` widget says to set that task value from its
`dbutils.notebook.exit` (`dtflw.runtime.task_lineage`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from dtflw.core.widgets import JOB_WIDGET
from dtflw.deploy.tasks import DeployTask
from dtflw.runtime.task_lineage import EXIT_TASK_VALUE

if TYPE_CHECKING:
    from dtflw.run.dag import Plan


def with_task_values(
    tasks: list[DeployTask], tokens: dict[str, tuple[int, int]], plans: list[Plan]
) -> list[DeployTask]:
    """`tasks` (of `plans`, in order) with each exit-value token resolved to the task value of its producer."""
    offsets = [sum(len(p.steps) for p in plans[:n]) for n in range(len(plans))]
    producer_of = {token: offsets[flow] + index for token, (flow, index) in tokens.items()}
    producers: set[int] = set()
    out = []
    for task in tasks:
        parameters, after = dict(task.parameters), list(task.depends_on)
        for name, value in parameters.items():
            for token in (t for t in producer_of if t in value):
                producer = tasks[producer_of[token]]
                value = value.replace(token, "{{tasks." + producer.key + ".values." + EXIT_TASK_VALUE + "}}")
                producers.add(producer_of[token])
                if producer.key not in after:
                    after.append(producer.key)
            parameters[name] = value
        out.append(replace(task, parameters=parameters, depends_on=after))
    for index in producers:
        identity = json.loads(out[index].parameters[JOB_WIDGET])
        identity["exit_value"] = EXIT_TASK_VALUE
        widget = json.dumps(identity, separators=(",", ":"), ensure_ascii=False)
        out[index] = replace(out[index], parameters={**out[index].parameters, JOB_WIDGET: widget})
    return out
