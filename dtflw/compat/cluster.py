"""The runtime of a notebook on a Databricks cluster, found and run through the 0.6 hooks
(`dtflw.databricks`), so that code patching them (as 0.6's tests did) takes effect.

Importing this module registers `detect_databricks` as the way `dtflw.runtime.current_runtime()`
finds a notebook no dtflw runtime made current.
"""

from __future__ import annotations

from typing import Any

from dtflw import runtime as runtimes
from dtflw.compat import databricks as db
from dtflw.compat.com import NotebooksChannel
from dtflw.errors import DtflwError, NotebookFailedError, NotebookTimeoutError
from dtflw.runtime import Runtime, context_tag

_detected: list[Runtime] = []  # the runtime last detected


class DbutilsRunner:
    """Runs a notebook as an ephemeral Databricks job: `dtflw.databricks.run_notebook` (the 0.6 hook,
    `dbutils.notebook.run` of the runtime current while the step runs)."""

    def run(
        self,
        path: str,
        timeout_seconds: int,
        arguments: dict[str, str],
        *,
        run_id: str | None = None,
    ) -> str | None:
        try:
            return db.run_notebook(path, timeout_seconds, arguments)
        except DtflwError:
            raise
        except Exception as e:
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            error = NotebookTimeoutError if "timed out" in str(e).lower() else NotebookFailedError
            raise error(f"Notebook '{path}' failed: {message}", notebook_path=path) from e


def from_dbutils(dbutils: Any, spark: Any = None) -> Runtime:
    """A runtime around a Databricks `dbutils` (a cluster's, or any object with its API)."""
    context = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
    tags = context.tags()
    runtime = Runtime(
        dbutils,
        spark,
        notebook_path=context.notebookPath().get(),
        user=context_tag(tags, "user") or "",
        job_type=context_tag(tags, "jobType"),
        runner=DbutilsRunner(),
    )
    return _reading_shared_values(runtime)


def detect_databricks() -> Runtime:
    """The runtime of the notebook calling, on a cluster; the same one while its dbutils and notebook path
    stay the same (RuntimeNotFoundError outside any notebook)."""
    dbutils = db.get_dbutils()
    path = db.get_this_notebook_abs_path()
    if _detected and _detected[0].dbutils is dbutils and _detected[0].notebook_path == path:
        return _detected[0]
    try:
        user = db.get_current_username()
    except Exception:  # py4j raises NoSuchElementException for a missing tag
        user = ""
    runtime = Runtime(
        dbutils,
        notebook_path=path,
        user=user or "",
        job_type=db.try_get_context_tag("jobType"),
        runner=DbutilsRunner(),
        spark_factory=lambda: db.get_spark_session(),
        display_html=db.notebook_namespace().get("displayHTML"),
    )
    _detected[:] = [_reading_shared_values(runtime)]
    return runtime


def _reading_shared_values(runtime: Runtime) -> Runtime:
    """`runtime`, its callee widgets defaulting to what a caller shared on the 0.6 flow bus (by kind: args,
    inputs, outputs), as 0.6 read them for a notebook opened interactively after its flow ran."""

    def shared(kind: str, notebook_path: str) -> dict[str, Any]:
        return {} if runtime.spark is None else NotebooksChannel(runtime.spark).get(notebook_path, kind)

    runtime.shared_values = shared
    return runtime


runtimes.detect_with(detect_databricks)
