"""The 0.6 helpers around the notebook runtime, now answered by the one current `Runtime`."""

from __future__ import annotations

import posixpath

from dtflw.runtime import context_tag, current_runtime, normalize_workspace_path, project_relative_path


def run_notebook(path: str, timeout: int, arguments: dict):
    return current_runtime().runner.run(path, timeout, arguments)


def get_spark_session():
    return current_runtime().spark


def get_dbutils():
    return current_runtime().dbutils


def get_current_username() -> str:
    return current_runtime().user


def get_this_notebook_abs_path() -> str:
    return current_runtime().notebook_path


def get_this_notebook_abs_cwd() -> str:
    return posixpath.dirname(get_this_notebook_abs_path())


def get_notebook_abs_path(rel_path: str) -> str:
    return normalize_workspace_path(rel_path, get_this_notebook_abs_cwd())


def get_path_relative_to_project_dir(rel_path: str) -> str:
    return project_relative_path(get_notebook_abs_path(rel_path))


def try_get_context_tag(key: str, default=None):
    tags = current_runtime().dbutils.notebook.entry_point.getDbutils().notebook().getContext().tags()
    value = context_tag(tags, key)
    return default if value is None else value


def is_job_interactive() -> bool:
    return not current_runtime().is_job


def set_runtime_config_property(key: str, value: str) -> None:
    current_runtime().spark.conf.set(key, value)


def get_runtime_config_property(key: str):
    return current_runtime().spark.conf.get(key)


def runtime_config_has(key: str) -> bool:
    try:
        current_runtime().spark.conf.get(key)
    except Exception:  # Spark raises when the key is absent
        return False
    return True
