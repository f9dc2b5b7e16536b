"""A step's expectations in a run: checked against declared columns before the notebook runs, evaluated
right after it writes (one scan per table, on the session the flow reads tables with), recorded on the run,
warned about, and — for a failed blocking one — a typed error, so the step fails and its dependents do not
run. The table stays as written (never lost, not published); a later lazy run runs the step again."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from dtflw.errors import ExpectationError, ExpectationFailedError
from dtflw.events import NotebookRun, scrub
from dtflw.expectations import scan
from dtflw.expectations.spec import FAIL, ExpectationResult, age_text

if TYPE_CHECKING:
    from dtflw.core.context import FlowContext
    from dtflw.core.step import LazyNotebook
    from dtflw.core.tables import OutputTable
    from dtflw.storage.base import Storage
    from dtflw.storage.tables import TableState

log = logging.getLogger("dtflw")
UNRETRIED_EXPECTATIONS = (ExpectationError, ExpectationFailedError)  # another attempt of the step cannot pass


class StepExpectations:
    """The expectations of one step's outputs for one run: `before_run()`, then `after_write()`."""

    def __init__(self, step: LazyNotebook) -> None:
        self.step = step
        self.ctx: FlowContext = step.ctx
        self.declared = {n: o.expectations for n, o in step.get_outputs().items() if o.expectations}
        self.previous_rows: dict[str, int | None] = {}

    def before_run(self, out_states: dict[str, TableState], record: NotebookRun) -> None:
        """Check the inputs' freshness, expressions against declared `cols`; count the rows of the versions a
        ratio rule compares with."""
        self._check_freshness(record)
        if not self.declared:
            return
        outputs = self.step.get_outputs()
        spark = self.ctx.storage.spark or self.ctx.spark
        for name, expectations in self.declared.items():
            if spark is not None:
                scan.check_against_columns(spark, self.step.rel_path, name, expectations, outputs[name].cols)
            if any(e.rule == "min_ratio_to_previous" for e in expectations):
                self.previous_rows[name] = _row_count(self.ctx.storage, outputs[name], out_states.get(name))

    def _check_freshness(self, record: NotebookRun) -> None:
        """Raise `ExpectationFailedError` (recorded on `record`) if an input with `max_age` is older."""
        now = time.time()
        for name, table in self.step.get_inputs().items():
            path = table.abs_file_path
            if table.max_age is None or not path or table.is_glob:
                continue
            state = self.ctx.storage.table_state(path)
            if not state.exists:
                continue  # required inputs were checked; an absent optional one has no age
            age = max(0.0, now - state.modified_ms / 1000)
            stale = age > table.max_age
            detail = f"last written {age_text(age)} ago" + (f", older than {age_text(table.max_age)}" if stale else "")
            expression = f"age <= {age_text(table.max_age)}"
            result = ExpectationResult(name, "max_age", expression, FAIL, int(not stale), int(stale), "max_age", detail)
            record.expectations.append(result)
            if stale:
                raise ExpectationFailedError(
                    f"Input '{name}' of notebook '{self.step.abs_path}' at '{path}' is stale: {detail}. The notebook "
                    "did not run; run the input's producer, or raise its max_age.",
                    notebook_path=self.step.abs_path,
                    results=(result,),
                )

    def after_write(self, record: NotebookRun) -> list[ExpectationResult]:
        """Evaluate every output's expectations, record them on `record`, warn about failed ones; raise
        `ExpectationFailedError` if a blocking one failed."""
        results = evaluate_step(self.step, self.previous_rows)
        record.expectations = record.expectations + results
        for r in results:
            if not r.ok:
                self._warn(r)
        failed = [r for r in results if r.blocking_failure]
        if failed:
            raise ExpectationFailedError(
                failure_message(
                    self.step.abs_path, {n: o.abs_file_path for n, o in self.step.get_outputs().items()}, failed
                ),
                notebook_path=self.step.abs_path,
                results=tuple(failed),
            )
        return results

    def _warn(self, r: ExpectationResult) -> None:
        line = f"Expectation failed ({r.action}): '{self.step.abs_path}' {r.describe()}"
        log.warning("dtflw: %s", line)
        self.ctx.log(line)


def evaluate_step(
    step: LazyNotebook, previous_rows: dict[str, int | None] | None = None, only: Collection[str] | None = None
) -> list[ExpectationResult]:
    """The results of every expectation of `step`'s outputs (`only` these, if given), on the tables there now."""
    ctx = step.ctx
    secrets = ctx.secret_values | step.secret_arg_values()
    results: list[ExpectationResult] = []
    for name, output in step.get_outputs().items():
        if output.expectations and (only is None or name in only):
            df = ctx.storage.read_table(output.abs_file_path, output.table_format)
            previous = (previous_rows or {}).get(name)
            results += scan.evaluate(
                df, step.rel_path, name, output.expectations, previous, lambda t: scrub(t, secrets)
            )
    return results


def failure_message(notebook: str, paths: dict[str, str], failed: list[ExpectationResult]) -> str:
    """What failed, where (`paths`: {table: its path}), how often, and a few failing rows; what to do."""
    lines = [f"Notebook '{notebook}' wrote output(s) that fail blocking expectations:"]
    for r in failed:
        lines.append(f"  {r.describe()} — table at '{paths[r.table]}'")
        lines += [f"    failing row: {sample}" for sample in r.samples]
    lines.append(
        "The table is kept as written but not published; steps reading it do not run. Fix the data or the "
        "notebook and run again (`dtflw check` evaluates the expectations without running notebooks)."
    )
    return "\n".join(lines)


def _row_count(storage: Storage, output: OutputTable, state: TableState | None) -> int | None:
    """Rows of the version at `output`'s path before the notebook writes (None if there is none): from the
    parquet footers or Delta log where cheap, else counted."""
    if state is None or not state.exists:
        return None
    from dtflw.lineage.enrich import describe

    _, rows = describe(storage, output.abs_file_path, state.format, state.version)
    if rows is None:
        rows = storage.read_table(output.abs_file_path, output.table_format).count()
    return rows
