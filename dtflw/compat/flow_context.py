"""The flow context as 0.6 built it (`dtflw.flow_context.FlowContext`): the core context with 0.6's logger,
display and pipeline state, its notebooks found and run through the `dtflw.databricks` hooks when it has no
runtime, and its steps run when `.run()` is called (outside a DAG block)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dtflw.compat import databricks
from dtflw.compat.cluster import DbutilsRunner
from dtflw.compat.com import NotebooksChannel
from dtflw.compat.display import DefaultDisplay
from dtflw.compat.logger import LoggerBase
from dtflw.compat.pipeline import NotebookRun, PipelineState
from dtflw.core import context
from dtflw.errors import RuntimeNotFoundError
from dtflw.run.immediate import ImmediateExecutor

if TYPE_CHECKING:
    from dtflw.core.executor import StepExecutor
    from dtflw.core.runner import Runner
    from dtflw.core.step import LazyNotebook
    from dtflw.runtime import Runtime
    from dtflw.storage.base import Storage


class FlowContext(context.FlowContext):
    """A flow's shared state whose steps run as they are handed over, unless an `executor` is given."""

    def __init__(
        self,
        storage: Storage,  # 0.6 code may pass None: a flow that never resolves a table
        spark: Any,
        dbutils: Any,
        logger: LoggerBase,
        runtime: Runtime | None = None,
        runner: Runner | None = None,
        executor: StepExecutor | None = None,
    ) -> None:
        if runner is None and (runtime is None or runtime.runner is None):  # 0.6: `dbutils.notebook.run` via the hooks
            runner = DbutilsRunner()
        super().__init__(storage, spark, dbutils, runtime, runner, executor)
        self.logger = logger
        self.pipeline = PipelineState()
        self.display = DefaultDisplay()
        if executor is None:
            self.step_executor = ImmediateExecutor(self)

    @property
    def logger(self) -> LoggerBase:
        return self._logger

    @logger.setter
    def logger(self, value: LoggerBase) -> None:
        if not isinstance(value, LoggerBase):
            raise ValueError("Unexpected logger type.")
        self._logger = value

    def log(self, message: str) -> None:
        self._logger.log(message)

    def resolve_notebook_path(self, rel_path: str) -> str:
        """Without a runtime, through `dtflw.databricks.get_notebook_abs_path` (as given outside a notebook)."""
        if self.runtime is not None:
            return super().resolve_notebook_path(rel_path)
        try:
            return databricks.get_notebook_abs_path(rel_path)
        except RuntimeNotFoundError:
            return rel_path

    def before_call(self, step: LazyNotebook) -> None:
        """In an interactive session on a cluster, share the call's args and paths on the flow bus, as 0.6 did,
        for the callee opened interactively afterwards."""
        if (self.runtime is None or not self.runtime.is_local) and databricks.is_job_interactive():
            self.share_call(step)

    def share_call(self, step: LazyNotebook) -> None:
        channel = NotebooksChannel(self.spark)
        channel.share_args(step.abs_path, step.get_args())
        channel.share_inputs(step.abs_path, {n: i.abs_file_path for n, i in step.get_inputs().items()})
        channel.share_outputs(step.abs_path, {n: o.abs_file_path for n, o in step.get_outputs().items()})

    def show_text(self, text: str) -> None:
        self.display.show(text)

    def publish(self, step: LazyNotebook) -> None:
        super().publish(step)
        outputs = {o.alias: o.abs_file_path for o in step.get_outputs().values()}
        inputs = {n: i.abs_file_path for n, i in step.get_inputs().items()}
        self.pipeline.record_run(NotebookRun(step.abs_path, step.get_args(), inputs, outputs))

    def show(self) -> None:
        lines = ["Evaluated tables:"]
        for name, producers in self.tables_repo.tables.items():
            lines.append(f"'{name}'")
            lines += [f"  '{nb}' : '{path}'" for nb, path in producers.items()]
        self.show_text("\n".join(lines))
