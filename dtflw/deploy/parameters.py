"""Job parameters: the storage and the orchestration's arguments, referred to by every task.

A job exported with parameters runs for another storage or year by a parameter, not a re-export:

- the flow's storage URL becomes the parameter `storage`; a table path under it is written
  `{{job.parameters.storage}}/<rest>` (so are the storage fields of the `dtflw_job` widget);
- each argument (widget) of the orchestration notebook or `params:` of a pipeline file becomes a
  parameter of its name; a step argument whose value is exactly that argument's value refers to it
  (a value two arguments share stays as exported: which one it came from is not known).

Databricks pushes job parameters down to every notebook task, overriding a task parameter of the
same name; so a parameter whose name a task uses for another value is renamed `flow_<name>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from dtflw.core.widgets import JOB_WIDGET
from dtflw.deploy.tasks import NOTEBOOK, DeployTask
from dtflw.errors import DeployError

STORAGE = "storage"
_NAME = re.compile(r"^[\w.-]+$")  # what the Jobs API accepts as a parameter name
_REFERENCE = re.compile(r"\{\{\s*job\.parameters\.([\w.-]+)\s*\}\}")


@dataclass(frozen=True)
class JobParameter:
    name: str
    default: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "default": self.default}


def reference(name: str) -> str:
    return "{{job.parameters." + name + "}}"


def parameterize(
    tasks: list[DeployTask], storage_url: str | None, arguments: dict[str, str]
) -> tuple[list[DeployTask], list[JobParameter]]:
    """The tasks with the storage and the orchestration's arguments as job parameter references, and
    the job's parameters (storage first, then the arguments in their order)."""
    wanted = ([STORAGE] if storage_url else []) + [n for n in arguments if n != STORAGE]
    bad = [n for n in wanted if not _NAME.match(n)]
    if bad:
        raise DeployError(
            f"Argument(s) {bad} cannot be job parameters: a job parameter name holds only letters, digits, "
            "'_', '-' and '.'; rename the widget."
        )
    by_value: dict[str, list[str]] = {}
    for name in wanted[1 if storage_url else 0 :]:
        by_value.setdefault(arguments[name], []).append(name)
    unique = {value: names[0] for value, names in by_value.items() if len(names) == 1}
    names = {n: n for n in wanted}
    while True:
        rendered = [_render(t, storage_url, unique, names) for t in tasks]
        clash = _clashing(rendered, names)
        if not clash:
            break
        names[clash] = _free_name("flow_" + names[clash], names.values())
    defaults = {STORAGE: storage_url or "", **arguments}  # the storage is a parameter only when given
    return rendered, [JobParameter(names[n], defaults[n]) for n in wanted]


def resolve(tasks: list[DeployTask], parameters: list[JobParameter], given: dict[str, str]) -> list[DeployTask]:
    """The tasks with every `{{job.parameters.x}}` replaced by its value (`given`, else its default):
    what a one-time run (`runs/submit`, which has no job parameters) is sent."""
    values = {p.name: p.default for p in parameters}
    unknown = sorted(set(given) - set(values))
    if unknown:
        raise DeployError(f"Unknown job parameter(s) {unknown}; the job has: {', '.join(values) or 'none'}.")
    values.update(given)
    return [replace(t, parameters=filled(t.parameters, values)) for t in tasks]


def filled(parameters: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """`parameters` with each `{{job.parameters.x}}` whose value is known replaced by it."""
    return {k: _REFERENCE.sub(lambda m: values.get(m[1], m[0]), v) for k, v in parameters.items()}


def _render(task: DeployTask, storage_url: str | None, unique: dict[str, str], names: dict[str, str]) -> DeployTask:
    parameters = {}
    for key, value in task.parameters.items():
        if key == JOB_WIDGET:
            parameters[key] = _job_widget(value, storage_url, names)
        elif key.endswith(("_in", "_out")) and storage_url and _under(value, storage_url):
            parameters[key] = reference(names[STORAGE]) + value[len(storage_url) :]
        elif value in unique and not key.endswith(("_in", "_out")):
            parameters[key] = reference(names[unique[value]])
        else:
            parameters[key] = value
    return replace(task, parameters=parameters)


def _job_widget(text: str, storage_url: str | None, names: dict[str, str]) -> str:
    fields = json.loads(text)
    if storage_url and fields.get("storage") == storage_url:
        fields["storage"] = reference(names[STORAGE])
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def _under(path: str, url: str) -> bool:
    return path == url or path.startswith(url.rstrip("/") + "/")


def _clashing(tasks: list[DeployTask], names: dict[str, str]) -> str | None:
    """A parameter whose (current) name a notebook task passes another value under: pushed down, it would win
    (a check task's arguments are a JSON array, to which job parameters are not pushed down)."""
    for wanted, name in names.items():
        ref = reference(name)
        for task in (t for t in tasks if t.kind == NOTEBOOK):
            if name in task.parameters and task.parameters[name] != ref:
                return wanted
    return None


def _free_name(name: str, names: Iterable[str]) -> str:
    taken = set(names)
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate
