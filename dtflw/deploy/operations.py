"""How a deployed job is operated: schedule, notifications, concurrency, run-as, health, queue, permissions.

Given by `dtflw deploy export|run` options or by the `deploy:` section of a pipeline file (options win), checked
before anything is written, and added to the job settings in the Jobs API's shapes:

    deploy:
      schedule: {cron: "0 0 6 * * ?", timezone: Europe/Amsterdam}
      email_on_failure: [data-team@example.com]
      webhook_on_failure: [<notification destination id>]
      max_concurrent_runs: 1
      run_as: etl-service-principal          # a user name (with @) or a service principal's application id
      max_duration_seconds: 3600              # a health rule: warn when a run takes longer
      queue: true
      permissions: {CAN_MANAGE_RUN: [group:analysts], CAN_VIEW: [user:ana@example.com]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dtflw.errors import DeployError

if TYPE_CHECKING:
    from dtflw.deploy.export import JsonObject

LEVELS = ("CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE", "IS_OWNER")
PRINCIPALS = {"user": "user_name", "group": "group_name", "sp": "service_principal_name"}
MAX_CONCURRENT_RUNS = 1000
_QUARTZ_FIELD = re.compile(r"^[\w*?/,#LW-]+$")


@dataclass(frozen=True)
class Operations:
    cron: str | None = None
    timezone: str = "UTC"
    email_on_failure: tuple[str, ...] = ()
    email_on_success: tuple[str, ...] = ()
    webhook_on_failure: tuple[str, ...] = ()
    max_concurrent_runs: int = 1
    run_as: str | None = None
    max_duration_seconds: int | None = None
    queue: bool | None = None
    permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def of(cls, section: Mapping[str, Any] | None, **options: object) -> Operations:
        """From a pipeline file's `deploy:` section, with the options given (not None, not empty) winning."""
        section = dict(section or {})
        schedule = section.pop("schedule", None) or {}
        values = {"cron": schedule.get("cron"), "timezone": schedule.get("timezone", "UTC"), **section}
        values.update({k: v for k, v in options.items() if v not in (None, (), [], {})})
        for key in ("email_on_failure", "email_on_success", "webhook_on_failure"):
            values[key] = tuple(values.get(key) or ())
        values["permissions"] = {level: tuple(who) for level, who in (values.get("permissions") or {}).items()}
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise DeployError(f"Unknown deploy setting(s) {unknown}; known: {', '.join(cls.__dataclass_fields__)}.")
        return cls(**values)

    def job_settings(self) -> JsonObject:
        """The job settings keys these give (Jobs API 2.2)."""
        settings: JsonObject = {"max_concurrent_runs": self.max_concurrent_runs}
        if self.cron:
            settings["schedule"] = {
                "quartz_cron_expression": self.cron,
                "timezone_id": self.timezone,
                "pause_status": "UNPAUSED",
            }
        emails = {"on_failure": list(self.email_on_failure), "on_success": list(self.email_on_success)}
        if any(emails.values()):
            settings["email_notifications"] = {k: v for k, v in emails.items() if v}
        if self.webhook_on_failure:
            settings["webhook_notifications"] = {"on_failure": [{"id": i} for i in self.webhook_on_failure]}
        if self.run_as:
            key = "user_name" if "@" in self.run_as else "service_principal_name"
            settings["run_as"] = {key: self.run_as}
        if self.max_duration_seconds:
            rule = {"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": self.max_duration_seconds}
            settings["health"] = {"rules": [rule]}
        if self.queue is not None:
            settings["queue"] = {"enabled": self.queue}
        return settings

    def access_control_list(self) -> list[dict[str, str]]:
        """The job's permissions as `access_control_list` (jobs/create) and bundle `permissions` entries."""
        entries = []
        for level, principals in self.permissions.items():
            for principal in principals:
                kind, _, name = principal.partition(":")
                entries.append({PRINCIPALS[kind]: name, "permission_level": level})
        return entries


def _check(ops: Operations) -> None:
    problems = []
    if ops.cron is not None:
        fields = ops.cron.split()
        if not 6 <= len(fields) <= 7 or not all(_QUARTZ_FIELD.match(f) for f in fields):
            problems.append(
                f"schedule cron {ops.cron!r} is not a Quartz cron expression (6 or 7 fields: seconds minutes hours "
                "day-of-month month day-of-week [year], e.g. '0 0 6 * * ?')"
            )
    if ops.timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(ops.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone {ops.timezone!r} is not a time zone id (e.g. 'Europe/Amsterdam', 'UTC')")
    if not isinstance(ops.max_concurrent_runs, int) or not 1 <= ops.max_concurrent_runs <= MAX_CONCURRENT_RUNS:
        problems.append(f"max_concurrent_runs {ops.max_concurrent_runs!r} is not between 1 and {MAX_CONCURRENT_RUNS}")
    if ops.max_duration_seconds is not None and (
        not isinstance(ops.max_duration_seconds, int) or ops.max_duration_seconds < 1
    ):
        problems.append(f"max_duration_seconds {ops.max_duration_seconds!r} is not a positive number of seconds")
    for level, principals in ops.permissions.items():
        if level not in LEVELS:
            problems.append(f"permission level {level!r} is not one of {', '.join(LEVELS)}")
        bad = [p for p in principals if p.partition(":")[0] not in PRINCIPALS or not p.partition(":")[2]]
        if bad:
            problems.append(f"permission principal(s) {bad} are not user:<name>, group:<name> or sp:<application id>")
    if problems:
        raise DeployError("Deploy settings: " + "; ".join(problems) + ".")
