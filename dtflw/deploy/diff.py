"""What deploying would change in a workspace's existing job: its settings now against the planned ones.

    changes = settings_diff(current, planned)   # unified diff lines of the two, as sorted JSON

Both sides are read through databricks-sdk's `JobSettings` (so defaults are spelled alike); keys the
workspace adds that the export never sets (`format`, empty notification maps) are left out. Permissions
are not job settings (`access_control_list` goes beside them) and are not compared.
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING

from dtflw.errors import DeployError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.jobs import Job

    from dtflw.deploy.export import JsonObject

SERVER_DEFAULTS = {"format": "MULTI_TASK", "email_notifications": {}, "webhook_notifications": {}}


def find_job(client: WorkspaceClient, name: str, job_id: int | None = None) -> Job | None:
    """The job to compare with: `job_id`, else the one job named `name` (None if there is none)."""
    from databricks.sdk.errors import NotFound

    from dtflw.deploy.jobs_runner import call_retrying

    if job_id is not None:
        try:
            return call_retrying(client.jobs.get, job_id)
        except NotFound:
            raise DeployError(f"Job {job_id} does not exist in {client.config.host}.") from None
    found = list(call_retrying(client.jobs.list, name=name))
    if len(found) > 1:
        ids = ", ".join(str(j.job_id) for j in found)
        raise DeployError(f"{len(found)} jobs are named {name!r} ({ids}); pick one with --job-id.")
    return call_retrying(client.jobs.get, found[0].job_id) if found else None


def settings_diff(current: JsonObject, planned: JsonObject, label: str = "job") -> list[str]:
    """Unified diff lines from `current` to `planned` job settings (empty when deploying changes nothing)."""
    from databricks.sdk.service.jobs import JobSettings

    planned = {k: v for k, v in planned.items() if k != "access_control_list"}
    ours = JobSettings.from_dict(planned).as_dict()
    theirs = JobSettings.from_dict(current).as_dict()
    theirs = {k: v for k, v in theirs.items() if k in ours or SERVER_DEFAULTS.get(k, object()) != v}
    return list(
        difflib.unified_diff(
            _lines(theirs), _lines(ours), f"{label} (in the workspace)", f"{label} (planned)", lineterm=""
        )
    )


def _lines(settings: JsonObject) -> list[str]:
    return json.dumps(settings, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
