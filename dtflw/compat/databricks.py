"""The 0.6 helpers around the notebook runtime (`dtflw.databricks`). They are the seams the cluster
path goes through — running a notebook, detecting the runtime, deciding to share arguments — so code
that patches them (as 0.6's tests did) takes effect. Each answers for the dtflw runtime current here
(a local run, or a flow's step on a cluster), else from the notebook's `dbutils` as 0.6 did."""

from __future__ import annotations

import posixpath
import sys
from typing import Any

from dtflw.core.paths import normalize_workspace_path, project_relative_path
from dtflw.errors import RuntimeNotFoundError
from dtflw.runtime import active_runtime, context_tag


def notebook_namespace() -> dict[str, Any]:
    """The IPython namespace of the notebook calling (`dbutils`, `spark`, `displayHTML`), or {}."""
    ipython = sys.modules.get("IPython")  # a notebook's kernel has imported it
    try:
        namespace: dict[str, Any] = ipython.get_ipython().user_ns if ipython is not None else {}
        return namespace
    except Exception:  # not inside a kernel
        return {}


def run_notebook(path: str, timeout: int, arguments: dict[str, Any]) -> str | None:
    exit_value: str | None = get_dbutils().notebook.run(path, timeout, arguments)
    return exit_value


def get_spark_session() -> Any:
    """The runtime's session, else the notebook's `spark`, else `SparkSession.builder.getOrCreate()`."""
    runtime = active_runtime()
    if runtime is not None:
        return runtime.spark
    spark = notebook_namespace().get("spark")
    if spark is not None:
        return spark
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def get_dbutils() -> Any:
    """The runtime's dbutils, else the notebook's `dbutils` (RuntimeNotFoundError outside any notebook)."""
    runtime = active_runtime()
    if runtime is not None:
        return runtime.dbutils
    dbutils = notebook_namespace().get("dbutils")
    if dbutils is None:
        raise RuntimeNotFoundError(
            "No notebook runtime found: not on Databricks (no `dbutils` in the notebook) and not run by "
            "the local dtflw runtime. Run the notebook with `dtflw run NOTEBOOK`, or pass dbutils= and "
            "spark= to init_flow()."
        )
    return dbutils


def _context() -> Any:
    return get_dbutils().notebook.entry_point.getDbutils().notebook().getContext()


def get_current_username() -> str:
    user: str = _context().tags().apply("user")
    return user


def get_this_notebook_abs_path() -> str:
    path: str = _context().notebookPath().get()
    return path


def get_this_notebook_abs_cwd() -> str:
    return posixpath.dirname(get_this_notebook_abs_path())


def get_notebook_abs_path(rel_path: str) -> str:
    return normalize_workspace_path(rel_path, get_this_notebook_abs_cwd())


def get_path_relative_to_project_dir(rel_path: str) -> str:
    return project_relative_path(get_notebook_abs_path(rel_path))


def try_get_context_tag(key: str, default: Any = None) -> Any:
    try:
        value = context_tag(_context().tags(), key)
    except Exception:  # no notebook context at all, as 0.6's bare except
        return default
    return default if value is None else value


def is_job_interactive() -> bool:
    return try_get_context_tag("jobType") is None


def set_runtime_config_property(key: str, value: str) -> None:
    get_spark_session().conf.set(key, value)


def get_runtime_config_property(key: str) -> Any:
    return get_spark_session().conf.get(key)


def runtime_config_has(key: str) -> bool:
    try:
        get_spark_session().conf.get(key)
    except Exception:  # Spark raises when the key is absent
        return False
    return True
