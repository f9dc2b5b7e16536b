"""Running notebooks with `dbutils.notebook.run`, on a Databricks cluster."""

from __future__ import annotations

from dtflw.errors import NotebookFailedError, NotebookTimeoutError


class DbutilsRunner:
    """Runs a notebook as an ephemeral Databricks job through `dbutils.notebook.run`."""

    def __init__(self, dbutils):
        self._dbutils = dbutils

    def run(
        self,
        path: str,
        timeout_seconds: int,
        arguments: dict[str, str],
        *,
        run_id: str | None = None,
    ) -> str | None:
        try:
            return self._dbutils.notebook.run(path, timeout_seconds, arguments)
        except NotebookFailedError:
            raise
        except Exception as e:
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            error = NotebookTimeoutError if "timed out" in str(e).lower() else NotebookFailedError
            raise error(f"Notebook '{path}' failed: {message}", notebook_path=path) from e
