"""A flow as a Databricks Asset Bundle: `databricks.yml` with targets, and `resources/<name>.job.yml`.

The job's notebook paths point at the local notebook files, relative to the resource file, as
bundles resolve them; `databricks bundle deploy -t dev` then uploads the notebooks and creates the job.
When the notebooks lie outside the bundle folder, `sync.paths` takes their folder along.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dtflw.deploy.export import Compute, JsonObject, job_settings
from dtflw.deploy.tasks import NOTEBOOK, DeployTask
from dtflw.errors import DeployError

if TYPE_CHECKING:
    from dtflw.deploy.operations import Operations
    from dtflw.deploy.parameters import JobParameter

RESOURCES = "resources"
CLUSTER_VARIABLE = "cluster_id"  # the existing cluster of the tasks, a bundle variable
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_]+")


def resource_key(name: str) -> str:
    """The job's key under `resources.jobs` (letters, digits, `_`)."""
    return _NOT_IN_NAME.sub("_", name).strip("_") or "dtflw_job"


def bundle_files(
    tasks: list[DeployTask],
    name: str,
    out_dir: str,
    notebooks_root: str,
    compute: Compute | None = None,
    tags: dict[str, str] | None = None,
    host: str | None = None,
    parameters: Sequence[JobParameter] = (),
    operations: Operations | None = None,
    *,
    package: str | None = None,
    target: str | None = None,
    variables: dict[str, str] | None = None,
) -> dict[str, JsonObject]:
    """{relative file path: YAML document} of the bundle that `write_bundle` writes under `out_dir`.

    Each job parameter's default is a bundle variable of its name; `variables` set them for `target`
    (`dev` or `prod`), or their defaults without one. The variables of targets in a `databricks.yml`
    already in `out_dir` are kept, so `--target prod --var storage=…` adds to an earlier export."""
    missing = [t.key for t in tasks if t.kind == NOTEBOOK and not t.notebook_file]
    if missing:
        raise DeployError(f"No local notebook file is known for task(s) {missing}; a bundle needs the sources.")
    key = resource_key(name)
    out_dir = os.path.abspath(out_dir)
    resource_dir = os.path.join(out_dir, RESOURCES)

    def relative(task: DeployTask) -> str:
        if task.kind != NOTEBOOK:
            return task.notebook_path
        assert task.notebook_file is not None  # checked above for every notebook task
        return os.path.relpath(task.notebook_file, resource_dir).replace(os.sep, "/")

    job = job_settings(
        tasks,
        name,
        compute,
        tags,
        notebook_path=relative,
        parameters=parameters,
        operations=operations,
        package=package,
    )
    cluster = compute.existing_cluster_id if compute else None
    _as_bundle_job(job, cluster)
    config: JsonObject = {"bundle": {"name": key}, "include": [f"{RESOURCES}/*.yml"]}
    defaults = {p.name: p.default for p in parameters} | ({CLUSTER_VARIABLE: cluster} if cluster else {})
    if defaults:
        config["variables"] = {
            n: {"description": "Cluster of the tasks" if n == CLUSTER_VARIABLE else f"Job parameter {n}", "default": v}
            for n, v in defaults.items()
        }
    root = os.path.relpath(os.path.abspath(notebooks_root), out_dir).replace(os.sep, "/")
    if root == ".." or root.startswith("../"):
        config["sync"] = {"paths": [".", root]}
    config["targets"] = _targets(host, _earlier_target_variables(out_dir))
    _set_variables(config, target, variables or {})
    return {"databricks.yml": config, f"{RESOURCES}/{key}.job.yml": {"resources": {"jobs": {key: job}}}}


def _as_bundle_job(job: JsonObject, cluster: str | None) -> None:
    """Turn Jobs API settings into a bundle's job resource: permissions with levels, parameters defaulting to
    the bundle variables of their names, notebooks from the bundle's synced files, the cluster a variable."""
    acl = job.pop("access_control_list", None)
    if acl:  # a bundle's job resource names its permissions `permissions`, each with a `level`
        job["permissions"] = [{"level": e.pop("permission_level"), **e} for e in acl]
    for parameter in job.get("parameters", []):
        parameter["default"] = "${var." + parameter["name"] + "}"
    for task in job["tasks"]:
        if "notebook_task" in task:
            del task["notebook_task"]["source"]  # the bundle's synced files are the workspace's
        if cluster:
            task["existing_cluster_id"] = "${var." + CLUSTER_VARIABLE + "}"  # a target may run on another


def _targets(host: str | None, earlier: dict[str, dict[str, str]]) -> dict[str, JsonObject]:
    workspace = {"host": host} if host else {}
    targets: dict[str, JsonObject] = {
        "dev": {"mode": "development", "default": True, **({"workspace": dict(workspace)} if workspace else {})},
        "prod": {
            "mode": "production",
            "workspace": {**workspace, "root_path": "/Workspace/Shared/.bundle/${bundle.name}/${bundle.target}"},
        },
    }
    for name, values in earlier.items():
        if name in targets and values:
            targets[name]["variables"] = dict(values)
    return targets


def _set_variables(config: JsonObject, target: str | None, values: dict[str, str]) -> None:
    known = config.get("variables", {})
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise DeployError(
            f"Unknown bundle variable(s) {unknown}: the job's parameters are {', '.join(known) or 'none'}."
        )
    if target is None:
        for name, value in values.items():
            known[name]["default"] = value
        return
    if target not in config["targets"]:
        raise DeployError(f"Unknown target {target!r}; the bundle's targets are {', '.join(config['targets'])}.")
    if values:
        config["targets"][target].setdefault("variables", {}).update(values)


def _earlier_target_variables(out_dir: str) -> dict[str, dict[str, str]]:
    """The variables each target of an earlier export in `out_dir` set (none if there is none, or unreadable)."""
    import yaml

    path = os.path.join(out_dir, "databricks.yml")
    try:
        with open(path, encoding="utf-8") as f:
            earlier = yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return {}
    targets = earlier.get("targets") if isinstance(earlier, dict) else None
    if not isinstance(targets, dict):
        return {}
    return {
        name: {str(k): str(v) for k, v in target["variables"].items()}
        for name, target in targets.items()
        if isinstance(target, dict) and isinstance(target.get("variables"), dict)
    }


def write_bundle(files: dict[str, JsonObject], out_dir: str) -> list[str]:
    """Write the bundle's YAML files under `out_dir`; return their paths."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, where PyYAML has it: 10x faster
    written = []
    for relative, document in files.items():
        path = os.path.join(out_dir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            yaml.dump(document, f, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
        written.append(path)
    return written
