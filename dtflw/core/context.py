"""The shared state of one flow: storage, runtime, published tables, runs, listeners."""

from __future__ import annotations

from dtflw.compat.display import DefaultDisplay
from dtflw.compat.logger import LoggerBase
from dtflw.compat.pipeline import PipelineState
from dtflw.core.registry import TablesRepository
from dtflw.errors import RuntimeNotFoundError
from dtflw.events import FlowRun, Listeners, new_run_id
from dtflw.interrupts import OpenRuns
from dtflw.lineage.document import RUNS_DIR
from dtflw.runtime import RunOptions


class FlowContext:
    """Everything the notebook steps of one flow share."""

    def __init__(self, storage, spark, dbutils, logger: LoggerBase, runtime=None, runner=None, executor=None):
        self.storage = storage
        self._spark = spark
        self.dbutils = dbutils
        self.runtime = runtime
        self.options = getattr(runtime, "options", None) or RunOptions()
        self.runner = runner if runner is not None else getattr(runtime, "runner", None)  # runs the steps
        self.tables_repo = TablesRepository()
        self.logger = logger
        self.pipeline = PipelineState()
        self.display = DefaultDisplay()
        self.listeners = Listeners()
        self.open_runs = OpenRuns()  # notebook runs started and not ended: cancelled if the flow is
        self.listeners.add(self.open_runs)
        self.failures: list = []  # notebook runs of this flow that failed
        self._executor = executor  # what `.run()` hands a step to (a `StepExecutor`), chosen by the set-up
        self.flow_run = FlowRun(
            run_id=new_run_id(),
            notebook_path=getattr(runtime, "notebook_path", "") or "",
            storage_url=getattr(storage, "url", "") if storage is not None else "",
            root_dir=getattr(storage, "root_dir", "") if storage is not None else "",
            parent_run_id=getattr(runtime, "run_id", None),
            lineage_folder=storage.get_abs_path(storage.get_path_in_root_dir(RUNS_DIR)) if storage is not None else "",
        )

    @property
    def step_executor(self):
        """The `dtflw.core.executor.StepExecutor` that runs, declares or plans this flow's steps."""
        if self._executor is None:
            raise RuntimeNotFoundError(
                "This flow context was built without a step executor, so its notebooks cannot run; build flows "
                "with dtflw.init_flow(...) or dtflw.FlowContext(...)."
            )
        return self._executor

    @step_executor.setter
    def step_executor(self, executor) -> None:
        self._executor = executor

    @property
    def spark(self):
        """The flow's Spark session (the runtime's, started on first use, unless one was given)."""
        return self._spark if self._spark is not None else getattr(self.runtime, "spark", None)

    @spark.setter
    def spark(self, value) -> None:
        self._spark = value

    @property
    def logger(self) -> LoggerBase:
        return self._logger

    @logger.setter
    def logger(self, value: LoggerBase) -> None:
        if not isinstance(value, LoggerBase):
            raise ValueError("Unexpected logger type.")
        self._logger = value

    @property
    def secret_values(self) -> set[str]:
        return getattr(self.runtime, "secret_values", set())

    def publish_tables(self, tables: dict[str, str], src_nb_path: str) -> None:
        self.tables_repo.publish(tables, src_nb_path)

    def resolve_table(self, name: str, trg_nb_path: str | None = None) -> str | None:
        return self.tables_repo.resolve(name, trg_nb_path)

    def show(self) -> None:
        lines = ["Evaluated tables:"]
        for name, producers in self.tables_repo.tables.items():
            lines.append(f"'{name}'")
            lines += [f"  '{nb}' : '{path}'" for nb, path in producers.items()]
        self.display.show("\n".join(lines))
