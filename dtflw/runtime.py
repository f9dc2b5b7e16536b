"""The runtime a notebook runs in — dbutils, spark, its own workspace path — found in one place.

Locally, the dtflw runtime sets the current `Runtime` for each notebook it executes (a context
variable, so threads and nested runs each see their own). On a Databricks cluster it is detected
once from the notebook's IPython namespace (or databricks-connect).
"""

from __future__ import annotations

import contextlib
import contextvars
import posixpath
from dataclasses import dataclass, field
from typing import Any

from dtflw.errors import RuntimeNotFoundError

_current: contextvars.ContextVar[Runtime | None] = contextvars.ContextVar("dtflw_runtime", default=None)
_detected: Runtime | None = None


@dataclass
class Runtime:
    """What one notebook sees: its dbutils, its Spark session, its path, and how to run others."""

    dbutils: Any
    spark: Any
    notebook_path: str
    user: str
    runner: Any  # dtflw.execution.Runner
    is_local: bool = False
    job_type: str | None = None
    default_storage_url: str | None = None
    dbfs_folder: str | None = None  # locally, the folder standing in for dbfs:/
    volumes_folder: str | None = None  # locally, the folder standing in for /Volumes
    run_id: str | None = None  # the notebook run executing this notebook, if dtflw started it
    listeners: list = field(default_factory=list)  # extra FlowListeners for every flow opened here
    secret_values: set[str] = field(default_factory=set)
    force_lazy: bool = False  # `dtflw run --lazy`: every step runs lazily
    selection: Any = None  # `dtflw run --select/--exclude`: which of this notebook's steps run
    display_html: Any = None  # the notebook's displayHTML
    flows: list = field(default_factory=list)  # flows opened by this notebook, ended when it finishes
    planner: Any = None  # `dtflw plan`: flows collect their steps here instead of running them

    @property
    def is_job(self) -> bool:
        return self.job_type is not None

    def resolve_notebook_path(self, path: str) -> str:
        """The absolute, normalised workspace path of `path` as given to `flow.notebook(path)`."""
        return normalize_workspace_path(path, posixpath.dirname(self.notebook_path))


def normalize_workspace_path(path: str, cwd: str) -> str:
    """Join `path` to `cwd` like Databricks does, collapsing `.`/`..` and a `/Workspace` prefix."""
    joined = path if path.startswith("/") else posixpath.join(cwd or "/", path)
    clean = posixpath.normpath(joined)
    if clean == "/Workspace" or clean.startswith("/Workspace/"):
        clean = clean[len("/Workspace") :] or "/"
    return clean


def project_relative_path(workspace_path: str) -> str:
    """The path below the user's (or repo's, or Shared) folder: `/Users/u/proj/nb` → `proj/nb`."""
    parts = [p for p in workspace_path.split("/") if p]
    if parts and parts[0] in ("Users", "Repos"):
        return "/".join(parts[2:])
    if parts and parts[0] == "Shared":
        return "/".join(parts[1:])
    return "/".join(parts)


def current_runtime() -> Runtime:
    """The runtime of the code calling it: set by the local runtime, else detected on Databricks."""
    runtime = _current.get()
    if runtime is not None:
        return runtime
    global _detected
    if _detected is None:
        _detected = _detect_databricks()
    return _detected


@contextlib.contextmanager
def activated(runtime: Runtime):
    """Make `runtime` current for the code inside the block (this thread/context only)."""
    token = _current.set(runtime)
    try:
        yield runtime
    finally:
        _current.reset(token)


def from_dbutils(dbutils, spark=None) -> Runtime:
    """A runtime around a Databricks `dbutils` (a cluster's, or any object with its API)."""
    from dtflw.execution.dbutils_runner import DbutilsRunner

    context = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
    tags = context.tags()
    return Runtime(
        dbutils=dbutils,
        spark=spark,
        notebook_path=context.notebookPath().get(),
        user=context_tag(tags, "user") or "",
        job_type=context_tag(tags, "jobType"),
        runner=DbutilsRunner(dbutils),
    )


def context_tag(tags, key: str):
    """A notebook context tag (`tags().apply(key)`), or None when the notebook has none."""
    try:
        return tags.apply(key)
    except Exception:  # py4j raises NoSuchElementException for a missing tag
        return None


def _detect_databricks() -> Runtime:
    try:
        from IPython import get_ipython

        namespace = get_ipython().user_ns
        dbutils, spark = namespace["dbutils"], namespace.get("spark")
        display_html = namespace.get("displayHTML")
    except Exception as e:
        raise RuntimeNotFoundError(
            "No notebook runtime found: not on Databricks (no `dbutils` in the notebook) and not run by "
            "the local dtflw runtime. Run the notebook with `dtflw run NOTEBOOK`, or pass dbutils= and "
            "spark= to init_flow()."
        ) from e
    runtime = from_dbutils(dbutils, spark)
    runtime.display_html = display_html
    return runtime
