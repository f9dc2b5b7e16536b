"""A flow as Databricks Jobs API 2.2 job settings: one `notebook_task` per step, ordered by `depends_on`.

    settings = job_settings(tasks, "sales", Compute(existing_cluster_id="0101-abc"), tags={"team": "bi"})

The dict is what `POST /api/2.2/jobs/create` takes (and `JobSettings.from_dict` reads). Compute is
serverless unless a cluster is given: an existing cluster, or a job cluster every task shares.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from dtflw.deploy.tasks import CHECK, DeployTask
from dtflw.errors import DeployError
from dtflw.run.check_task import ENTRY_POINT, PACKAGE

if TYPE_CHECKING:
    from dtflw.deploy.operations import Operations
    from dtflw.deploy.parameters import JobParameter

JsonObject: TypeAlias = dict[str, Any]  # a Jobs API / bundle JSON object: job settings, a task, a cluster spec

JOB_CLUSTER_KEY = "dtflw_cluster"
ENVIRONMENT_KEY = "dtflw"  # the serverless environment of check tasks: dtflw installed
ENVIRONMENT_VERSION = "2"
MAX_JOB_TAGS = 25
MAX_DESCRIPTION = 1000
_TAG_KEY = re.compile(r"^[\w .:/=+@-]{1,127}$")


@dataclass(frozen=True)
class Compute:
    """Where the tasks run: an existing cluster, a new job cluster (its `new_cluster` spec) or serverless."""

    existing_cluster_id: str | None = None
    new_cluster: JsonObject | None = None

    def __post_init__(self) -> None:
        if self.existing_cluster_id and self.new_cluster:
            raise DeployError("Give an existing cluster id or a new job cluster spec, not both.")

    @property
    def is_serverless(self) -> bool:
        return not (self.existing_cluster_id or self.new_cluster)


def job_settings(
    tasks: list[DeployTask],
    name: str,
    compute: Compute | None = None,
    tags: dict[str, str] | None = None,
    notebook_path: Callable[[DeployTask], str] | None = None,
    parameters: Sequence[JobParameter] = (),
    operations: Operations | None = None,
    package: str | None = None,
) -> JsonObject:
    """Jobs API 2.2 job settings for `tasks`. Step tags become job tags (value ""), merged with `tags`;
    `parameters` (`JobParameter`s) are the job's parameters; `operations` (`Operations`) its schedule,
    notifications, run-as, health, queue and permissions (`access_control_list`, as jobs/create takes it).
    `package` (a pip requirement, e.g. `dtflw==1.0.0`) is installed as a library by tasks on a cluster;
    on serverless a notebook installs it itself (`%pip install dtflw`): notebook tasks take no environment; the
    check tasks of expectations (`python_wheel_task`s of dtflw) get the job environment `dtflw` installing it.

    `notebook_path(task)` gives each task's notebook path (default: its workspace path)."""
    compute = compute or Compute()
    settings: JsonObject = {"name": name, "max_concurrent_runs": 1}
    if operations is not None:
        settings.update(operations.job_settings())
    if parameters:
        settings["parameters"] = [p.as_dict() for p in parameters]
    job_tags = _job_tags(tasks, tags or {})
    if job_tags:
        settings["tags"] = job_tags
    if compute.new_cluster:
        settings["job_clusters"] = [{"job_cluster_key": JOB_CLUSTER_KEY, "new_cluster": compute.new_cluster}]
    settings["tasks"] = [_task(t, compute, notebook_path(t) if notebook_path else t.notebook_path) for t in tasks]
    if package and not compute.is_serverless:
        for task in settings["tasks"]:
            task["libraries"] = [{"pypi": {"package": package}}]
    if compute.is_serverless and any(t.kind == CHECK for t in tasks):
        spec = {"environment_version": ENVIRONMENT_VERSION, "dependencies": [package or PACKAGE]}
        settings["environments"] = [{"environment_key": ENVIRONMENT_KEY, "spec": spec}]
    if operations is not None and operations.permissions:
        settings["access_control_list"] = operations.access_control_list()
    return settings


def to_json(settings: JsonObject) -> str:
    """The job settings as the JSON text `databricks jobs create --json @file` takes."""
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


def _task(task: DeployTask, compute: Compute, notebook_path: str) -> JsonObject:
    out: JsonObject = {"task_key": task.key}
    described = [f"step '{task.step_name}'"] * bool(task.step_name) + ["tags: " + ", ".join(task.tags)] * bool(
        task.tags
    )
    if task.kind == CHECK:
        described.insert(0, "expectations of " + (described.pop(0) if task.step_name else f"'{task.notebook_path}'"))
    if described:
        out["description"] = ("dtflw " + "; ".join(described))[:MAX_DESCRIPTION]
    if task.depends_on:
        out["depends_on"] = [{"task_key": key} for key in task.depends_on]
    if task.kind == CHECK:  # arguments as a JSON array: job parameters are not pushed down to it
        arguments = [f"--{name}={value}" for name, value in task.parameters.items()]
        out["python_wheel_task"] = {"package_name": PACKAGE, "entry_point": ENTRY_POINT, "parameters": arguments}
    else:
        out["notebook_task"] = {"notebook_path": notebook_path, "source": "WORKSPACE"}
        if task.parameters:  # the API leaves an empty map out
            out["notebook_task"]["base_parameters"] = task.parameters
    if compute.existing_cluster_id:
        out["existing_cluster_id"] = compute.existing_cluster_id
    elif compute.new_cluster:
        out["job_cluster_key"] = JOB_CLUSTER_KEY
    elif task.kind == CHECK:
        out["environment_key"] = ENVIRONMENT_KEY
    if task.max_retries:
        out["max_retries"] = task.max_retries
        out["min_retry_interval_millis"] = task.retry_interval_millis
    if task.timeout_seconds:
        out["timeout_seconds"] = task.timeout_seconds
    return out


def _job_tags(tasks: list[DeployTask], given: dict[str, str]) -> dict[str, str]:
    tags = {tag: "" for task in tasks for tag in task.tags}
    tags.update(given)
    bad = [k for k in tags if not _TAG_KEY.match(k)]
    if bad:
        raise DeployError(
            f"Job tag(s) {bad} are not valid Databricks tag keys (1-127 letters, digits, spaces, _.:/=+-@)."
        )
    if len(tags) > MAX_JOB_TAGS:
        raise DeployError(
            f"The flow's steps and --tag give {len(tags)} job tags; a job holds at most {MAX_JOB_TAGS}: "
            + ", ".join(sorted(tags))
        )
    return tags
