"""The flow: a chain of notebook steps sharing a storage, a runtime and a table registry."""

from __future__ import annotations

import time
from concurrent.futures import Executor
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from dtflw.core.context import FlowContext
from dtflw.core.executor import DEFAULT_WORKERS
from dtflw.core.step import LazyNotebook
from dtflw.core.uc_tables import spark_path
from dtflw.events import FlowListener, RunStatus

if TYPE_CHECKING:
    from dtflw.lineage import LineageGraph


class Flow:
    """Builds notebook steps (`flow.notebook(path)`) and knows the tables they published."""

    def __init__(self, ctx: FlowContext) -> None:
        if ctx is None:
            raise ValueError("Context cannot be None.")
        self._ctx = ctx

    @property
    def ctx(self) -> FlowContext:
        return self._ctx

    @property
    def run_id(self) -> str:
        return self._ctx.flow_run.run_id

    def __getitem__(self, table_name: str) -> str | None:
        """The path (as Spark reads it) of the latest table published as `table_name`, or None."""
        path = self._ctx.resolve_table(table_name)
        return spark_path(self._ctx.storage, path) if path else None

    def __setitem__(self, key: str, value: object) -> NoReturn:
        raise NotImplementedError(
            f"Tables are published by running notebooks; to read an existing table as '{key}', declare it with "
            ".input(name, file_path=...)."
        )

    def notebook(self, path: str) -> LazyNotebook:
        """A new step calling the notebook at `path` (relative to this notebook, as on Databricks)."""
        return LazyNotebook(path, self._ctx)

    def dag(
        self,
        workers: int = DEFAULT_WORKERS,
        select: str | None = None,
        exclude: str | None = None,
        executor: Executor | None = None,
    ) -> Any:
        """A DAG of steps run `workers` at a time (or by `executor`, a `concurrent.futures.Executor`),
        dependencies inferred from table names.

        `with flow.dag(): ... .run()` declares each step and runs them all when the block ends; or
        `dag = flow.dag()`, `dag.add(flow.notebook(...)...)` over several cells, then `dag.run()`.
        """
        return self._ctx.step_executor.dag(workers, select, exclude, executor)

    def add_listener(self, listener: FlowListener) -> None:
        """Register a `dtflw.events.FlowListener` for this flow's run events."""
        self._ctx.listeners.add(listener)

    @property
    def lineage(self) -> LineageGraph:
        """The lineage graph of every flow run recorded on this flow's storage (this one included):
        `.export(format, path)`, `.display()`, `.latest_producer(path)`, `.history(path)`…"""
        from dtflw.lineage import LineageGraph, LineageRecorder

        for listener in self._ctx.listeners:
            if isinstance(listener, LineageRecorder):
                listener.flush()
        graph = LineageGraph.load(self._ctx.storage)
        graph.display_html = self._ctx.runtime.display_html if self._ctx.runtime is not None else None
        return graph

    def end(self, failed: bool = False, cancelled: bool = False) -> None:
        """Close the flow run: listeners get `on_flow_end` (once). The local runtime ends the flows a
        notebook opened when it finishes; on Databricks use `with init_flow(...) as flow:` or call this.
        `cancelled` (an interrupt): notebooks still running end cancelled, and so does the flow."""
        run = self._ctx.flow_run
        if run.ended is not None:
            return
        if cancelled:
            self._ctx.open_runs.cancel(self._ctx)
        run.ended = time.time()
        if cancelled:
            run.status = RunStatus.CANCELLED
        else:
            run.status = RunStatus.FAILED if failed or self._ctx.failures else RunStatus.SUCCEEDED
        self._ctx.listeners.emit("on_flow_end", run)

    def __enter__(self) -> Flow:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        self.end(failed=exc_type is not None, cancelled=interrupted)
