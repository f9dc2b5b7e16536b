"""Running one notebook step: validate its inputs, decide laziness, run it through the runtime's
runner (retrying as its spec says), check its outputs, record history and events, publish tables.

The step (`dtflw.core.step`) is never changed here: what a run resolves — an absent optional
input, the states of its tables — lives in the task, so steps can run from worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from dtflw.core.runner import source_fingerprint
from dtflw.errors import (
    ArgumentError,
    DagError,
    DtflwError,
    InputNotFoundError,
    InvalidTableNameError,
    NotebookFailedError,
    RuntimeNotFoundError,
    UnresolvedInputError,
)
from dtflw.events import NotebookRun, RunStatus, TableUse, new_run_id, scrub, truncate
from dtflw.incremental import MAX_KEPT_EXIT_VALUE, NO_HISTORY, Fingerprint, RunHistory, decide
from dtflw.incremental.key import storage_key
from dtflw.run.expectations import UNRETRIED_EXPECTATIONS, StepExpectations
from dtflw.runtime import Runtime, activated, active_runtime
from dtflw.storage.tables import check_writable, written_between

if TYPE_CHECKING:
    from dtflw.core.context import FlowContext
    from dtflw.core.runner import Runner
    from dtflw.core.step import LazyNotebook
    from dtflw.core.tables import InputTable
    from dtflw.storage.base import Storage
    from dtflw.storage.tables import TableState

log = logging.getLogger("dtflw")

NOT_SELECTED = "not selected"
# errors of the step's own declaration: another attempt cannot succeed
UNRETRIED: tuple[type[Exception], ...] = (
    ArgumentError,
    DagError,
    InputNotFoundError,
    InvalidTableNameError,
    UnresolvedInputError,
)
UNRETRIED += UNRETRIED_EXPECTATIONS  # data that fails its expectations fails again until it is fixed


class StepTask:
    """One run of a step on its flow: `execute()` (with retries), `leave_out()`, `lazy_decision()`."""

    def __init__(self, step: LazyNotebook) -> None:
        self.step = step
        self.ctx: FlowContext = step.ctx

    def execute(self, is_lazy: bool = False, strict_validation: bool = False) -> Any:
        """Run now, retrying as configured; return the exit value."""
        is_lazy = is_lazy or self.ctx.options.force_lazy
        retries, backoff, retry_on = self.step.retry_policy
        attempt = 1
        while True:
            try:
                with self._hooks_answering():
                    return self._attempt(is_lazy and attempt == 1, strict_validation, attempt)
            except retry_on as e:
                if attempt > retries or isinstance(e, UNRETRIED):
                    raise
                delay = backoff * 2 ** (attempt - 1)
                why = scrub(str(e), self.ctx.secret_values)
                self.ctx.log(f"Retrying '{self.step.abs_path}' in {delay:.1f}s after attempt {attempt}: {why}")
                time.sleep(delay)
                attempt += 1

    def leave_out(self) -> Any:
        """Skip the step, not selected: later steps read its outputs where an earlier run left them;
        return the exit value kept at its last successful run."""
        step = self.step
        record = self._new_record(1, [_input_use(n, i.abs_file_path, None) for n, i in step.get_inputs().items()])
        record.status, record.reason = RunStatus.SKIPPED, NOT_SELECTED
        self.ctx.log(f"Skipped run: '{step.abs_path}' ({NOT_SELECTED})")
        self._finish(record, self._output_states())
        return self.recorded_result()

    def recorded_result(self) -> Any:
        """The exit value kept at the step's last successful run (else the step's own last result)."""
        value = self._history().exit_value(*self._history_key())
        if value is None:
            value = self.step.result
        self.step.record_result(value)
        return value

    def lazy_decision(self) -> tuple[bool, str]:
        """(skip?, why) if the step ran lazily now; reads only the storage, runs nothing."""
        uses = [_input_use(n, i.abs_file_path, self._input_state(i)) for n, i in self.step.get_inputs().items()]
        return decide(self._output_states(), self._fingerprint(uses), self._history().last(*self._history_key()))

    # -- one attempt ------------------------------------------------------------------------
    def _attempt(self, is_lazy: bool, strict_validation: bool, attempt: int) -> Any:
        ctx, step = self.ctx, self.step
        notebook = step.abs_path
        input_paths, input_states = self._prepare_inputs()
        arguments = step.widget_arguments(input_paths)
        ctx.before_call(step)
        out_states = self._output_states()
        uses = [_input_use(n, input_paths[n], input_states[n]) for n in step.get_inputs()]
        record = self._new_record(attempt, uses)
        fingerprint = self._fingerprint(record.inputs)
        record.source_fingerprint = fingerprint.source
        history = self._history()
        key = self._history_key()
        if is_lazy:
            skip, record.reason = decide(out_states, fingerprint, history.last(*key))
            if skip:
                return self._skip(record, out_states, fingerprint)
        ctx.log(f"Running: '{notebook}'" + (f" ({record.reason})" if record.reason else ""))
        ctx.listeners.emit("on_notebook_start", ctx.flow_run, record)
        history.invalidate(*key, record.run_id)  # a run cut short never counts as a success
        expectations = StepExpectations(step)
        try:
            check_writable(notebook, step.get_outputs(), out_states)
            expectations.before_run(out_states, record)
            started = time.time()
            result = self._runner().run(step.rel_path, step.get_timeout(), arguments, run_id=record.run_id)
            before, out_states = out_states, self._output_states()
            self._validate_outputs(before, out_states, started, strict_validation)
            expectations.after_write(record)
        except DtflwError as e:
            self._fail(record, e, out_states)
            raise
        except Exception as e:
            self._fail(record, e, out_states)
            why = scrub(str(e), ctx.secret_values)
            raise NotebookFailedError(f"Notebook '{notebook}' failed: {why}", notebook_path=notebook) from e
        step.record_result(result)
        record.status = RunStatus.SUCCEEDED
        secrets = ctx.secret_values | step.secret_arg_values()
        record.exit_value = truncate(scrub(result, secrets))
        if step.get_outputs():  # a step without outputs always runs: its record would never be read
            history.record(*key, fingerprint, record.run_id, self._kept_exit_value(result, secrets))
        self._finish(record, out_states)
        return result

    def _skip(self, record: NotebookRun, out_states: dict[str, TableState], fingerprint: Fingerprint) -> Any:
        """Skip the step, up to date: the outputs it leaves at explicit locations are confirmed current (a
        nested flow's caller counts them as written), and the exit value kept at its last run is returned."""
        step, history, key = self.step, self._history(), self._history_key()
        self.ctx.log(f"Skipped run: '{step.abs_path}' ({record.reason})")
        record.status = RunStatus.SKIPPED
        if record.reason == NO_HISTORY:
            history.record(*key, fingerprint, record.run_id)
        for name, output in step.get_outputs().items():
            if output.is_explicit:
                fingerprint_now = out_states[name].fingerprint or ""
                history.confirm_current(output.abs_file_path, fingerprint_now, step.abs_path, record.run_id)
        self._finish(record, out_states)
        return self.recorded_result()

    def _runner(self) -> Runner:
        runner: Runner | None = self.ctx.runner
        if runner is None:
            raise RuntimeNotFoundError(
                f"Notebook '{self.step.abs_path}' cannot run: its flow has no runner (nor a runtime that has one); "
                "build flows with dtflw.init_flow(...) or pass runner= to the flow context."
            )
        return runner

    def _validate_outputs(
        self, before: dict[str, TableState], after: dict[str, TableState], started: float, strict_validation: bool
    ) -> None:
        """Check each output, `before` and `after` the notebook ran (since `started`), was written by this run."""
        step, history = self.step, self._history()
        for name, output in step.get_outputs().items():
            unchanged_before: TableState | None = before[name]
            if _confirmed_by_nested_run(history, output.abs_file_path, unchanged_before, after[name], started):
                unchanged_before = None
            output.validate(strict_validation, step.abs_path, after[name], before=unchanged_before)

    def _hooks_answering(self) -> contextlib.AbstractContextManager[object]:
        """On a cluster (or without a runtime, as 0.6), the step goes through the `dtflw.databricks`
        hooks: its flow's runtime is made current meanwhile, so they answer for it."""
        runtime = self.ctx.runtime
        if not isinstance(runtime, Runtime) or runtime.is_local or active_runtime() is runtime:
            return contextlib.nullcontext()
        return activated(runtime)

    def _kept_exit_value(self, result: Any, secrets: set[str]) -> str | None:
        """The exit value as kept for runs that skip the step: secrets scrubbed; over the cap, none."""
        if result is None:
            return None
        kept = scrub(result if isinstance(result, str) else str(result), secrets)
        size = len(kept.encode())
        if size > MAX_KEPT_EXIT_VALUE:
            message = (
                f"Exit value of '{self.step.abs_path}' not kept for lazy runs: {size} bytes, over "
                f"{MAX_KEPT_EXIT_VALUE // 1024} KiB; a skipped run of it returns None."
            )
            log.warning("dtflw: %s", message)
            self.ctx.log(message)
            return None
        return kept

    def _prepare_inputs(self) -> tuple[dict[str, str], dict[str, TableState | None]]:
        """Validate the inputs; return their paths for this run (an absent optional one: "") and
        their states as seen now."""
        paths: dict[str, str] = {}
        states: dict[str, TableState | None] = {}
        for name, table in self.step.get_inputs().items():
            state = self._input_state(table)
            present = state.exists if state is not None else table.is_present()
            table.validate(present=present)
            absent_optional = table.is_optional and not present
            paths[name] = "" if absent_optional else table.abs_file_path or ""
            states[name] = None if absent_optional else state
        return paths, states

    def _input_state(self, table: InputTable) -> TableState | None:
        """The state of an input's table now (None for a glob or a path not yet known)."""
        path = table.abs_file_path
        storage: Storage = self.ctx.storage
        return storage.table_state(path) if path and not table.is_glob else None

    def _output_states(self) -> dict[str, TableState]:
        """Each output's table state now, by output name."""
        return {name: self.ctx.storage.table_state(o.abs_file_path) for name, o in self.step.get_outputs().items()}

    def _fingerprint(self, inputs: list[TableUse]) -> Fingerprint:
        source = source_fingerprint(self.ctx.runner, self.step.rel_path)
        versions = {u.name: u.state.identity if u.state and u.state.exists else "" for u in inputs}
        key = storage_key(self.ctx.storage, create=self.ctx.options.planner is None)
        return Fingerprint.of(source, self.step.get_args(), versions, key)

    def _history(self) -> RunHistory:
        return RunHistory(self.ctx.storage)

    def _history_key(self) -> tuple[str, list[str]]:
        return self.step.abs_path, [o.abs_file_path for o in self.step.get_outputs().values()]

    # -- records ----------------------------------------------------------------------------
    def _new_record(self, attempt: int, inputs: list[TableUse]) -> NotebookRun:
        step = self.step
        return NotebookRun(
            run_id=new_run_id(),
            flow_run_id=self.ctx.flow_run.run_id,
            notebook_path=step.abs_path,
            rel_path=step.rel_path,
            args=step.redacted_args(),
            inputs=inputs,
            outputs=[],
            parent_run_id=self.ctx.runtime.run_id if self.ctx.runtime is not None else None,
            attempt=attempt,
            tags=step.get_tags(),
        )

    def _fail(self, record: NotebookRun, error: Exception, out_states: dict[str, TableState]) -> None:
        record.status = RunStatus.FAILED
        self.ctx.failures.append(record)
        record.error = scrub(f"{type(error).__name__}: {error}", self.ctx.secret_values)
        self._finish(record, out_states, publish=False)

    def _finish(self, record: NotebookRun, out_states: dict[str, TableState], publish: bool = True) -> None:
        ctx, step = self.ctx, self.step
        outputs = step.get_outputs()
        record.outputs = [
            TableUse(o.name, o.abs_file_path, o.table_format, o.alias, out_states.get(n)) for n, o in outputs.items()
        ]
        record.ended = time.time()
        if publish:
            ctx.publish(step)
        ctx.listeners.emit("on_notebook_end", ctx.flow_run, record)


def _confirmed_by_nested_run(
    history: RunHistory, path: str, before: TableState | None, after: TableState, since: float
) -> bool:
    """True if the table at `path`, unchanged since `before`, was found up to date since `since` by a lazy
    step of a flow that the notebook ran (a nested flow writing its caller's output): written by this run."""
    unchanged = after.exists and before is not None and not written_between(before, after)
    return unchanged and history.confirmed_since(path, after.fingerprint or "", since)


def _input_use(name: str, path: str | None, state: TableState | None) -> TableUse:
    return TableUse(name, path or "", state.format if state else None, state=state)
