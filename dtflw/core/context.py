"""The shared state of one flow: storage, runtime, published tables, runs, listeners.

Its methods `log`, `resolve_notebook_path`, `before_call`, `share_call`, `publish` and `show_text` are the ports the 0.6 face
(`dtflw.compat.flow_context`) adapts to 0.6's logger, hooks, flow bus and pipeline state.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from dtflw.core.options import RunOptions
from dtflw.core.registry import TablesRepository
from dtflw.errors import RuntimeNotFoundError
from dtflw.events import FlowRun, Listeners, NotebookRun, new_run_id
from dtflw.interrupts import OpenRuns
from dtflw.lineage.document import RUNS_DIR

if TYPE_CHECKING:
    from dtflw.core.executor import StepExecutor
    from dtflw.core.runner import Runner
    from dtflw.core.step import LazyNotebook
    from dtflw.storage import Storage

_log = logging.getLogger("dtflw")


class NotebookRuntime(Protocol):
    """What a flow asks of the runtime of the notebook opening it (a `dtflw.runtime.Runtime`, handed in).

    On a cluster, the `dtflw.databricks` hooks answer for a flow's steps only when it is a `Runtime`."""

    dbutils: Any
    notebook_path: str
    is_local: bool
    run_id: str | None  # the dtflw run executing the notebook: the parent of its flows' runs
    runner: Runner
    options: RunOptions
    secret_values: set[str]
    display_html: Any

    @property
    def spark(self) -> Any: ...

    def resolve_notebook_path(self, path: str) -> str: ...


class FlowContext:
    """Everything the notebook steps of one flow share."""

    def __init__(
        self,
        storage: Storage,
        spark: Any,
        dbutils: Any,
        runtime: NotebookRuntime | None = None,
        runner: Runner | None = None,
        executor: StepExecutor | None = None,
    ) -> None:
        self.storage = storage
        self._spark = spark
        self.dbutils = dbutils
        self.runtime = runtime
        self.options = runtime.options if runtime is not None else RunOptions()
        self.runner = runner if runner is not None or runtime is None else runtime.runner  # runs the steps
        self.tables_repo = TablesRepository()
        self.listeners = Listeners()
        self.open_runs = OpenRuns()  # notebook runs started and not ended: cancelled if the flow is
        self.listeners.add(self.open_runs)
        self.failures: list[NotebookRun] = []  # notebook runs of this flow that failed
        self._executor = executor  # what `.run()` hands a step to (a `StepExecutor`), chosen by the set-up
        self.flow_run = FlowRun(
            run_id=new_run_id(),
            notebook_path=runtime.notebook_path if runtime is not None else "",
            storage_url=storage.url if storage is not None else "",
            root_dir=storage.root_dir if storage is not None else "",
            parent_run_id=runtime.run_id if runtime is not None else None,
            lineage_folder=storage.get_abs_path(storage.get_path_in_root_dir(RUNS_DIR)) if storage is not None else "",
        )

    @property
    def step_executor(self) -> StepExecutor:
        """The `dtflw.core.executor.StepExecutor` that runs, declares or plans this flow's steps."""
        if self._executor is None:
            raise RuntimeNotFoundError(
                "This flow context was built without a step executor, so its notebooks cannot run; build flows "
                "with dtflw.init_flow(...) or dtflw.FlowContext(...)."
            )
        return self._executor

    @step_executor.setter
    def step_executor(self, executor: StepExecutor) -> None:
        self._executor = executor

    @property
    def spark(self) -> Any:
        """The flow's Spark session (the runtime's, started on first use, unless one was given)."""
        if self._spark is None and self.runtime is not None:
            return self.runtime.spark
        return self._spark

    @spark.setter
    def spark(self, value: Any) -> None:
        self._spark = value

    @property
    def secret_values(self) -> set[str]:
        return self.runtime.secret_values if self.runtime is not None else set()

    def log(self, message: str) -> None:
        """Tell what the flow does (a step runs, is skipped, is retried), on the `dtflw` Python logger."""
        _log.debug(message)

    def resolve_notebook_path(self, rel_path: str) -> str:
        """The workspace path of a notebook called as `rel_path` (as given without a runtime)."""
        return self.runtime.resolve_notebook_path(rel_path) if self.runtime is not None else rel_path

    def before_call(self, step: LazyNotebook) -> None:
        """Called just before `step`'s notebook runs."""

    def share_call(self, step: LazyNotebook) -> None:
        """Share `step`'s args and paths for its notebook opened interactively afterwards (0.6's flow bus)."""
        raise RuntimeNotFoundError(
            f"Notebook '{step.abs_path}': sharing a call's arguments needs 0.6's flow bus, which only flows made "
            "with dtflw.init_flow(...) or dtflw.FlowContext(...) have."
        )

    def show_text(self, text: str) -> None:
        """Show `text` to the user (`flow.show()`, `step.show()`)."""
        print(text)

    def publish(self, step: LazyNotebook) -> None:
        """Make the outputs of `step`, which ran or is up to date, the flow's latest tables by their aliases."""
        self.publish_tables({o.alias: o.abs_file_path for o in step.get_outputs().values()}, step.abs_path)

    def publish_tables(self, tables: dict[str, str], src_nb_path: str) -> None:
        self.tables_repo.publish(tables, src_nb_path)

    def resolve_table(self, name: str, trg_nb_path: str | None = None) -> str | None:
        return self.tables_repo.resolve(name, trg_nb_path)
