"""Declare notebook steps, then run them as a DAG: dependencies from table names, parallel workers.

    with flow.dag(workers=4):
        flow.notebook("ingest").input("Orders", file_path="raw/orders.csv").output("Orders").run()
        flow.notebook("report").input("Orders").output("Report").run()   # declared, runs after `ingest`

Inside the block `.run()` declares the step and returns None; the DAG runs when the block ends
(each step's exit value is then `step.result`). Problems of the graph — cycles, two producers of
one table, a step reading its own output, inputs nobody produces — are reported before anything
runs. A failure stops new work, lets running notebooks finish and reports every failure.
"""

from __future__ import annotations

import contextvars
import graphlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dtflw.core.executor import DEFAULT_WORKERS
from dtflw.errors import (
    ArgumentError,
    DagCycleError,
    DagFailedError,
    DuplicateProducerError,
    OverlappingOutputsError,
    SelfDependencyError,
    UnresolvedInputError,
)
from dtflw.gc_pause import paused_gc
from dtflw.run.task import StepTask
from dtflw.selection import closure
from dtflw.storage.tables import NestedPaths

if TYPE_CHECKING:
    from dtflw.core.context import FlowContext
    from dtflw.core.executor import StepExecutor
    from dtflw.core.step import LazyNotebook
    from dtflw.core.tables import AliasedOutputTable, InputTable

MAX_WORKERS = 64  # each running notebook holds one of a cluster's ~145 execution contexts


@dataclass(slots=True)
class Step:
    """A declared notebook call and how to run it."""

    notebook: LazyNotebook
    is_lazy: bool = False
    strict_validation: bool = False
    index: int = 0
    deps: set[int] = field(default_factory=set)
    selected: bool = True  # False: left out by `dtflw run --select/--exclude`

    @property
    def name(self) -> str:
        return self.notebook.rel_path

    @property
    def result(self) -> Any:
        """The notebook's exit value, once the DAG has run."""
        return self.notebook.result

    def tables(self) -> set[str]:
        return {key for o in self.notebook.get_outputs().values() for key in (o.name, o.alias)}


class Plan:
    """The validated graph of a DAG's steps."""

    def __init__(self, steps: list[Step], levels: list[list[Step]]):
        self.steps = steps
        self._levels = levels

    def levels(self) -> list[list[Step]]:
        """Steps grouped by depth: every step's dependencies lie in earlier levels."""
        return self._levels

    def downstream(self, indices: set[int]) -> set[int]:
        children: dict[int, set[int]] = {s.index: set() for s in self.steps}
        for step in self.steps:
            for dep in step.deps:
                children[dep].add(step.index)
        return closure(indices, children)

    def upstream(self, indices: set[int]) -> set[int]:
        return closure(indices, {s.index: s.deps for s in self.steps})

    def select(self, select: str | None = None, exclude: str | None = None) -> set[int]:
        """The step indices that `select` (default: all) picks, minus those `exclude` picks."""
        from dtflw.run.selection import chosen_steps

        return chosen_steps([self], select, exclude)[0]


class Dag:
    """Notebook steps declared on a flow, run in dependency order by a pool of workers.

    Each step is linked to its producers as it is added, while its objects are fresh: a duplicate
    producer or a step reading its own output fails at the line that declares it, and `plan()` only
    links inputs whose producer came later, adds `a >> b` orderings and sorts the graph.
    """

    def __init__(
        self,
        ctx: FlowContext,
        workers: int = DEFAULT_WORKERS,
        select: str | None = None,
        exclude: str | None = None,
        planning: bool = False,
        executor: Executor | None = None,
        planned_result: Callable[[int, str], Any] | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
            raise ArgumentError(f"workers must be a whole number from 1 to {MAX_WORKERS}, not {workers!r}.")
        self._ctx = ctx
        self.workers = workers
        self.select = select
        self.exclude = exclude
        self.steps: list[Step] = []
        self.planning = planning  # `dtflw plan`: collect every step of the flow, never run
        self.executor = executor  # runs the steps; default: a pool of `workers` threads
        self._planned_result = planned_result  # planning: (step index, name) → the step's result meanwhile
        # output alias (its name unless aliased) → (step, output)
        self._producers: dict[str, tuple[Step, AliasedOutputTable]] = {}
        self._writers: dict[str, Step] = {}  # output path → step
        # output paths, to refuse one inside another
        self._nested: NestedPaths[tuple[Step, AliasedOutputTable]] = NestedPaths()
        self._unlinked: list[tuple[Step, InputTable]] = []  # inputs no earlier step produces, linked by plan()

    @property
    def ctx(self) -> FlowContext:
        return self._ctx

    # -- the flow's step executor while its block is open (the planner's, always) -----------------
    collecting = True

    def submit(self, notebook: LazyNotebook, is_lazy: bool, strict_validation: bool) -> Any:
        """`.run()` inside the block: declare the step (planning: return its recorded exit value)."""
        self.add(notebook, is_lazy, strict_validation)
        return StepTask(notebook).recorded_result() if self.planning else None

    def dag(self, workers: int, select: str | None, exclude: str | None, executor: Executor | None) -> Dag:
        """`flow.dag()` again: planning, this collector; else a new DAG, refused when its block opens."""
        return self if self.planning else Dag(self._ctx, workers, select, exclude, executor=executor)

    def __enter__(self) -> Dag:
        if self.planning:
            return self
        if self._ctx.step_executor.collecting:
            raise ArgumentError("A DAG is already being declared on this flow; nest notebooks, not DAG blocks.")
        self._outer: StepExecutor = self._ctx.step_executor
        self._ctx.step_executor = self
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.planning:
            return
        self._ctx.step_executor = self._outer
        if exc_type is None:
            self.run()

    def add(self, notebook: LazyNotebook, is_lazy: bool = False, strict_validation: bool = False) -> Step:
        """Declare `notebook` (a configured `flow.notebook(...)`) as a step; `run()` runs them all.

        Its inputs and outputs are final from here on; a producer declared twice, or a step reading a
        table it produces, raises now."""
        step = Step(notebook, is_lazy, strict_validation, index=len(self.steps))
        producers, writers = self._producers, self._writers
        outputs = notebook.get_outputs().values()
        for output in outputs:
            if output.alias in producers:
                self._claimed(step, output.alias, producers[output.alias][0])
            if output.abs_file_path in writers:
                self._claimed(step, output.abs_file_path, writers[output.abs_file_path])
            nested = self._nested.find(output.abs_file_path)
            if nested is not None:
                self._overlap(step, output, *nested)
        inputs = notebook.get_inputs().values()
        for table in inputs:
            for output in outputs:
                if table.source == output.alias:
                    raise SelfDependencyError(
                        f"Notebook '{step.name}' reads table '{table.source}' (input '{table.name}') that it "
                        "produces itself; read the upstream table with file_path= or source_table=."
                    )
        for output in outputs:
            producers[output.alias] = (step, output)
            writers[output.abs_file_path] = step
            self._nested.claim(output.abs_file_path, (step, output))
        for table in inputs:
            if not self._link(step, table):
                self._unlinked.append((step, table))
        notebook.freeze(f"step {step.index + 1} of {'the planned flow' if self.planning else 'a DAG'}")
        selection = self._ctx.options.selection
        step.selected = selection is None or selection.includes(notebook)
        self.steps.append(step)
        if self.planning:  # `flow["T"]` is the path the step will publish
            self._ctx.publish_tables({o.alias: o.abs_file_path for o in outputs}, notebook.abs_path)
            if self._planned_result is not None:
                notebook.record_result(self._planned_result(step.index, step.name))
        return step

    @staticmethod
    def _claimed(step: Step, key: str, other: Step) -> None:
        raise DuplicateProducerError(
            f"Table '{key}' is produced by both '{other.name}' (step {other.index + 1}) and "
            f"'{step.name}' (step {step.index + 1}); give one output another name or file_path."
        )

    @staticmethod
    def _overlap(step: Step, output: AliasedOutputTable, other: Step, other_output: AliasedOutputTable) -> None:
        raise OverlappingOutputsError(
            f"Output '{output.name}' of notebook '{step.name}' (step {step.index + 1}) at '{output.abs_file_path}' "
            f"and output '{other_output.name}' of notebook '{other.name}' (step {other.index + 1}) at "
            f"'{other_output.abs_file_path}' overlap: one lies inside the other, so writing one deletes the other. "
            "Give them separate paths."
        )

    def _link(self, step: Step, table: InputTable) -> bool:
        """Make `step` depend on the producer of `table` if one is declared; False if none is yet."""
        if table.source is None:  # an explicit file_path: a dependency if another step writes it
            assert table.abs_file_path is not None  # an input without a source table has its path
            producer = self._writers.get(table.abs_file_path)
            if producer is not None and producer is not step:
                step.deps.add(producer.index)
            return producer is not None
        found = self._producers.get(table.source)
        if found is None:
            return False
        step.deps.add(found[0].index)
        table.resolve(found[1].abs_file_path)
        return True

    # -- planning ---------------------------------------------------------------------------
    def plan(self) -> Plan:
        """Link the inputs left unlinked, add `a >> b` orderings, sort; raise on a malformed graph."""
        with paused_gc():  # thousands of small sets and lists, none of them garbage
            self._link_the_rest()
            return Plan(self.steps, self._levels())

    def _link_the_rest(self) -> None:
        for step, table in self._unlinked:
            if self._link(step, table) or table.source is None:
                continue
            path = self._ctx.resolve_table(table.source, step.notebook.abs_path)
            if path is None and not table.is_optional:
                raise UnresolvedInputError(
                    f"Input '{table.name}' of notebook '{step.name}': no notebook of this DAG and no earlier run of "
                    f"the flow produces a table '{table.source}'. Declare its producer, or pass file_path=."
                )
            table.resolve(path or "")
        by_notebook = None
        for step in self.steps:
            if step.notebook.get_after():
                by_notebook = by_notebook or {id(s.notebook): s.index for s in self.steps}
                step.deps.update(by_notebook[id(nb)] for nb in step.notebook.get_after() if id(nb) in by_notebook)

    def _levels(self) -> list[list[Step]]:
        """Steps grouped by their longest path from a source; one pass when every dependency was
        declared earlier, else graphlib (which also finds cycles)."""
        depth = [0] * len(self.steps)
        levels: list[list[Step]] = []
        for step in self.steps:
            if step.deps:
                if max(step.deps) >= step.index:
                    return self._sorted_levels()
                depth[step.index] = 1 + max([depth[d] for d in step.deps])
            if depth[step.index] == len(levels):
                levels.append([])
            levels[depth[step.index]].append(step)
        return levels

    def _sorted_levels(self) -> list[list[Step]]:
        sorter = graphlib.TopologicalSorter({s.index: s.deps for s in self.steps})
        try:
            sorter.prepare()
        except graphlib.CycleError as e:
            cycle = " → ".join(self.steps[i].name for i in e.args[1])
            raise DagCycleError(f"Notebook steps depend on each other in a cycle: {cycle}.") from None
        levels = []
        while sorter.is_active():  # each batch of ready steps is one level
            ready = sorted(sorter.get_ready())
            levels.append([self.steps[i] for i in ready])
            sorter.done(*ready)
        return levels

    # -- running ----------------------------------------------------------------------------
    def run(self) -> dict[str, object]:
        """Run the selected steps, `workers` at a time; return {notebook: exit value} (a notebook
        called more than once is named `<notebook>#<step>`)."""
        if self.planning:
            return {}
        plan = self.plan()
        selected = {i for i in plan.select(self.select, self.exclude) if plan.steps[i].selected}
        sorter = graphlib.TopologicalSorter({s.index: s.deps for s in plan.steps})
        sorter.prepare()
        label = _labels(plan.steps)
        failures: dict[str, BaseException] = {}
        started: set[int] = set()
        own_pool, interrupted = self.executor is None, False
        pool = ThreadPoolExecutor(self.workers, "dtflw-dag") if self.executor is None else self.executor
        try:
            running: dict[Future[Any], int] = {}
            while sorter.is_active() and not (failures and not running):
                if not failures:
                    for index in sorter.get_ready():
                        step = plan.steps[index]
                        if index in selected:
                            execute = StepTask(step.notebook).execute
                            started.add(index)
                            future = pool.submit(
                                contextvars.copy_context().run, execute, step.is_lazy, step.strict_validation
                            )
                        else:  # recorded as left out, on a worker too: that reads the storage
                            future = pool.submit(contextvars.copy_context().run, StepTask(step.notebook).leave_out)
                        running[future] = index
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = running.pop(future)
                    error = future.exception()
                    if error is None:
                        sorter.done(index)
                    else:
                        failures[label[index]] = error
        except KeyboardInterrupt:  # its notebooks are being interrupted: do not wait for them
            interrupted = True
            raise
        finally:
            if own_pool:
                pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
        if failures:
            not_run = [label[s.index] for s in plan.steps if s.index in selected and s.index not in started]
            raise DagFailedError.of(failures, not_run)
        return {label[s.index]: s.notebook.result for s in plan.steps if s.index in selected}


def _labels(steps: list[Step]) -> dict[int, str]:
    """A name per step: the notebook's, with `#<step>` where one notebook is called more than once."""
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.name] = counts.get(step.name, 0) + 1
    return {s.index: s.name if counts[s.name] == 1 else f"{s.name}#{s.index + 1}" for s in steps}
