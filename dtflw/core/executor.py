"""The port a step is handed to by `.run()`: whoever sets up the flow chooses what running means (run it
now, declare it in a DAG, plan it), so the builder never knows how it is run."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from dtflw.core.step import LazyNotebook

DEFAULT_WORKERS = 4  # notebooks of a DAG run at a time


class StepExecutor(Protocol):
    """Runs, declares or plans the steps of one flow."""

    collecting: bool  # steps are declared now and run later: their inputs resolve when they run

    def submit(self, step: LazyNotebook, is_lazy: bool, strict_validation: bool) -> str | None:
        """Hand over `step`; its exit value, or None while it is only declared."""

    def dag(self, workers: int, select: str | None, exclude: str | None, executor: Executor | None) -> Any:
        """A DAG of steps on the flow (`flow.dag()`): a `dtflw.run.dag.Dag`, which core may not name."""
