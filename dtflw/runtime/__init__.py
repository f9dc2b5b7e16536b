"""The runtime a notebook runs in, found in one place.

A `Runtime` is the notebook's identity — its dbutils, Spark session, workspace path, user — the
`Runner` that runs the notebooks it calls, and the `RunOptions` a command asked its flows to run with
(a notebook on a cluster has the defaults). The callee side (`callee`) and a job task's record of its
run (`task_lineage`) read it; the core builds flows from what it is handed and never looks here.

Locally, the dtflw runtime makes a `Runtime` current for each notebook it executes (a context
variable, so threads and nested runs each see their own). On a Databricks cluster it is detected
from the notebook by the detector registered with `detect_with` (`dtflw.compat.cluster`, through the
0.6 hooks). `current_runtime()` is the one place that looks.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dtflw.core.options import RunOptions
from dtflw.core.paths import normalize_workspace_path
from dtflw.errors import RuntimeNotFoundError
from dtflw.interrupts import OpenedFlow
from dtflw.storage import environment
from dtflw.storage.environment import StorageEnvironment

if TYPE_CHECKING:
    from dtflw.core.runner import Runner

__all__ = [
    "LocalParts",
    "Runtime",
    "activated",
    "context_tag",
    "current_runtime",
    "detect_with",
]

_current: contextvars.ContextVar[Runtime | None] = contextvars.ContextVar("dtflw_runtime", default=None)
_detectors: list[
    Callable[[], Runtime]
] = []  # finds the runtime of a notebook on a cluster (`dtflw.compat.cluster`, registered at import)


@dataclass(frozen=True)
class LocalParts:
    """What the local runtime gives a notebook that a cluster's runtime has not."""

    namespaces: Any = None  # where dbfs:/, /Volumes and /Workspace live (dtflw.local.namespaces)
    dbfs_folder: str | None = None  # the folder standing in for dbfs:/ (none on the databricks engine)
    volumes_folder: str | None = None  # the folder standing in for /Volumes
    engine_credentials: Any = None  # hands a storage's credentials to the Spark engine
    table_catalog: Any = None  # answers for Unity Catalog tables (`state(ref)`)


class Runtime:
    """What one notebook sees: its dbutils, its Spark session, its path, and how to run others.

    `spark` may be given as a session or as `spark_factory`, called on first use: a notebook that
    never touches Spark starts no engine.
    """

    def __init__(
        self,
        dbutils: Any,
        spark: Any = None,
        *,
        notebook_path: str,
        user: str,
        runner: Runner,
        spark_factory: Any = None,
        is_local: bool = False,
        job_type: str | None = None,
        run_id: str | None = None,  # the dtflw notebook run executing this notebook, if dtflw started it
        secret_values: set[str] | None = None,  # secret values revealed to this run (redacted everywhere)
        display_html: Any = None,
        options: RunOptions | None = None,
        local: LocalParts | None = None,  # what the local runtime adds (a notebook it runs is local)
    ):
        self.dbutils = dbutils
        self._spark = spark
        self._spark_factory = spark_factory
        self.notebook_path = notebook_path
        self.user = user
        self.runner = runner
        self.is_local = is_local or local is not None
        self.local = local or LocalParts()
        self.job_type = job_type
        self.run_id = run_id
        self.secret_values = secret_values if secret_values is not None else set()
        self.display_html = display_html
        self.options = options or RunOptions()
        self.shared_values: Any = None  # on a cluster: (kind, notebook path) → what a caller shared (0.6 flow bus)
        self.flows: list[OpenedFlow] = []  # flows opened by this notebook, ended when it finishes

    @property
    def spark(self) -> Any:
        """The notebook's Spark session, started on first use."""
        if self._spark is None and self._spark_factory is not None:
            self._spark = self._spark_factory()
        return self._spark

    @property
    def spark_started(self) -> bool:
        return self._spark is not None

    @property
    def is_job(self) -> bool:
        return self.job_type is not None

    def storage_environment(self) -> StorageEnvironment:
        """What a storage opened by this notebook needs to know of it."""
        return StorageEnvironment(
            user=self.user or None,
            dbutils=self.dbutils,
            spark=self._spark,
            is_local=self.is_local,
            dbfs_folder=self.local.dbfs_folder,
            volumes_folder=self.local.volumes_folder,
            grant_engine_credentials=self.local.engine_credentials,
            table_catalog=self.local.table_catalog,
        )

    def resolve_notebook_path(self, path: str) -> str:
        """The absolute, normalised workspace path of `path` as given to `flow.notebook(path)`."""
        return normalize_workspace_path(path, self.notebook_path.rsplit("/", 1)[0])


def current_runtime() -> Runtime:
    """The runtime of the code calling it: set by the local runtime, else detected on Databricks."""
    runtime = _current.get()
    if runtime is not None:
        return runtime
    if not _detectors:
        raise RuntimeNotFoundError(
            "No notebook runtime found: not run by the local dtflw runtime, and no way to detect a Databricks "
            "notebook was registered (import dtflw first)."
        )
    return _detectors[0]()


def detect_with(detector: Callable[[], Runtime]) -> None:
    """Find the runtime of code that no dtflw runtime made current with `detector()` (a Databricks notebook)."""
    _detectors[:] = [detector]


def active_runtime() -> Runtime | None:
    """The runtime the local runtime made current here, if any (never detects)."""
    return _current.get()


@contextlib.contextmanager
def activated(runtime: Runtime) -> Iterator[Runtime]:
    """Make `runtime` current for the code inside the block (this thread/context only)."""
    token = _current.set(runtime)
    try:
        yield runtime
    finally:
        _current.reset(token)


def context_tag(tags: Any, key: str) -> Any:
    """A notebook context tag (`tags().apply(key)`), or None when the notebook has none."""
    try:
        return tags.apply(key)
    except Exception:  # py4j raises NoSuchElementException for a missing tag
        return None


def _storage_environment() -> StorageEnvironment | None:
    try:
        return current_runtime().storage_environment()
    except RuntimeNotFoundError:
        return None


environment.provide(_storage_environment)
