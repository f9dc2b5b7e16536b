"""Running notebooks with `dbutils.notebook.run`, on a Databricks cluster."""

from __future__ import annotations

from dtflw.errors import DtflwError, NotebookFailedError, NotebookTimeoutError


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
        from dtflw.compat import databricks

        try:
            return databricks.run_notebook(path, timeout_seconds, arguments)
        except DtflwError:
            raise
        except Exception as e:
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            error = NotebookTimeoutError if "timed out" in str(e).lower() else NotebookFailedError
            raise error(f"Notebook '{path}' failed: {message}", notebook_path=path) from e
