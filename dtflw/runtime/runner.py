"""The runner protocol: how a flow invokes one notebook (a cluster's `dbutils.notebook.run`, the
local runtime, a Jobs API submission…). Hand a flow another one with `init_flow(runner=...)`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Runner(Protocol):
    """Runs a notebook to its end and returns the value it passed to `dbutils.notebook.exit`."""

    def run(
        self,
        path: str,
        timeout_seconds: int,
        arguments: dict[str, str],
        *,
        run_id: str | None = None,
    ) -> str | None:
        """`path` as the step gave it (relative to the calling notebook, as `dbutils.notebook.run`
        takes it); `arguments` the widgets; `run_id` the dtflw run id of this call, for the callee's
        nested flows. A runner that needs absolute paths may define `bind_caller(notebook_path)`:
        `init_flow` calls it with the path of the notebook opening the flow."""
