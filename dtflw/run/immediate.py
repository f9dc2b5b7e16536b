"""The executor of a flow outside any DAG block: each `.run()` runs its step now (or leaves it out,
not selected)."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from dtflw.run.dag import Dag
from dtflw.run.task import StepTask

if TYPE_CHECKING:
    from dtflw.core.context import FlowContext
    from dtflw.core.step import LazyNotebook


class ImmediateExecutor:
    """Runs each step as it is handed over."""

    collecting = False

    def __init__(self, ctx: FlowContext) -> None:
        self._ctx = ctx

    def submit(self, step: LazyNotebook, is_lazy: bool, strict_validation: bool) -> Any:
        task = StepTask(step)
        selection = self._ctx.options.selection
        if selection is not None and not selection.includes(step):
            return task.leave_out()
        return task.execute(is_lazy, strict_validation)

    def dag(self, workers: int, select: str | None, exclude: str | None, executor: Executor | None) -> Dag:
        return Dag(self._ctx, workers, select, exclude, executor=executor)
