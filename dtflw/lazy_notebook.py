"""A notebook step: the fluent builder of one notebook call (args, inputs, outputs) and its run."""

from __future__ import annotations

import datetime
import decimal
import pathlib
import time

from dtflw.errors import (
    ArgumentError,
    DagError,
    DtflwError,
    InputNotFoundError,
    InvalidTableNameError,
    NotebookFailedError,
    UnresolvedInputError,
)
from dtflw.events import NotebookRun, RunStatus, TableUse, new_run_id, redact, scrub, truncate
from dtflw.incremental import NO_HISTORY, Fingerprint, RunHistory, decide
from dtflw.input_table import InputTable
from dtflw.names import check_notebook_path, check_table_name
from dtflw.output_table import AliasedOutputTable
from dtflw.pipeline import NotebookRun as PipelineRun
from dtflw.runtime import project_relative_path
from dtflw.state_key import storage_key

MAX_RETRIES = 20
NOT_SELECTED = "not selected"
RETRY_ON = (Exception,)
MAX_BACKOFF = 3600.0
# errors of the step's own declaration: another attempt cannot succeed
UNRETRIED = (ArgumentError, DagError, InputNotFoundError, InvalidTableNameError, UnresolvedInputError)
_STRINGABLE = (str, int, float, decimal.Decimal, datetime.date, datetime.time, pathlib.PurePath)


def _as_widget_value(notebook: str, name, value) -> str:
    if not isinstance(name, str) or not name:
        raise ArgumentError(f"Notebook '{notebook}' got an argument with an empty or non-string name: {name!r}.")
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, _STRINGABLE):
        raise ArgumentError(
            f"Argument '{name}' of notebook '{notebook}' is a {type(value).__name__}, which does not convert to a "
            "widget string; pass a str, number or date (json.dumps a list or dict)."
        )
    return str(value)


class LazyNotebook:
    """One notebook call being built: `.args()`, `.input()`, `.output()`, then `.run()`."""

    AliasedOutputTable = AliasedOutputTable

    def __init__(self, rel_path: str, ctx):
        self._rel_path = check_notebook_path(rel_path)
        self.ctx = ctx
        runtime = ctx.runtime
        self._abs_path = runtime.resolve_notebook_path(rel_path) if runtime is not None else rel_path
        self._project_path = project_relative_path(self._abs_path)  # default outputs live under it
        self._args: dict[str, str] = {}
        self._secret_args: frozenset[str] = frozenset()
        self._timeout = 0
        self._inputs: dict[str, InputTable] = {}
        self._outputs: dict[str, AliasedOutputTable] = {}
        self._last_run_result = None
        self._tags: tuple[str, ...] = ()
        self._after: tuple[LazyNotebook, ...] = ()
        self._retries = 0
        self._backoff = 1.0
        self._retry_on: tuple[type[BaseException], ...] = RETRY_ON
        self._declared_as: str | None = None  # set once a DAG holds the step: its tables are final

    # -- the spec ---------------------------------------------------------------------------
    @property
    def rel_path(self) -> str:
        return self._rel_path

    @property
    def abs_path(self) -> str:
        """The notebook's workspace path, normalised (`./x`, `../x`, `/Workspace/...` resolved)."""
        return self._abs_path

    def args(self, args: dict, secret=()) -> LazyNotebook:
        """Set the notebook's arguments (replacing earlier ones); names in `secret` are redacted."""
        if not isinstance(args, dict):
            raise ArgumentError(f"Arguments of notebook '{self._rel_path}' must be a dict, not {type(args).__name__}.")
        self._args = {name: _as_widget_value(self._rel_path, name, value) for name, value in args.items()}
        self._secret_args = frozenset([secret] if isinstance(secret, str) else secret)
        unknown = self._secret_args - set(self._args)
        if unknown:
            raise ArgumentError(
                f"Secret names {sorted(unknown)} of notebook '{self._rel_path}' are not among its args."
            )
        self.ctx.secret_values.update(self._args[name] for name in self._secret_args)  # kept out of every text
        return self

    def get_args(self) -> dict[str, str]:
        return self._args

    def redacted_args(self) -> dict[str, str]:
        """The args as logs, lineage and reports show them: secret names and revealed secret values hidden."""
        return redact(self._args, self._secret_args, self.ctx.secret_values)

    def timeout(self, timeout: int) -> LazyNotebook:
        """Stop the notebook after `timeout` seconds (0: no timeout)."""
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
            raise ArgumentError(f"Timeout of notebook '{self._rel_path}' must be whole seconds >= 0, not {timeout!r}.")
        self._timeout = timeout
        return self

    def input(self, name: str, file_path: str = None, source_table: str = None, is_optional: bool = False):
        """Declare an input: a path on the storage, or the latest table published as `source_table or name`."""
        self._check_open("input", name)
        check_table_name(name, "input", self._rel_path)
        if source_table is not None:
            check_table_name(source_table, "source table", self._rel_path)
        source = None
        if file_path:
            path = self.ctx.storage.resolve_foreign_input(file_path)
        else:
            source = source_table or name  # a DAG resolves it to its producer step
            path = None if self.ctx.collector is not None else self.ctx.resolve_table(source, self.abs_path)
        self._inputs[name] = InputTable(name, path, self.ctx, is_optional, notebook=self._rel_path, source=source)
        return self

    def freeze(self, declared_as: str) -> None:
        """Mark the step declared (`declared_as`, e.g. "step 3 of a DAG"): no more inputs or outputs."""
        self._declared_as = declared_as

    def _check_open(self, kind: str, name: str) -> None:
        if self._declared_as is not None:
            raise ArgumentError(
                f"Cannot add {kind} '{name}' to notebook '{self._rel_path}': it is already declared as "
                f"{self._declared_as}, so its inputs and outputs are final. Declare them all before adding or "
                f"running it, or start another step with flow.notebook('{self._rel_path}')."
            )

    def get_inputs(self) -> dict[str, InputTable]:
        return self._inputs

    def output(self, name: str, cols: list = None, file_path: str = None, alias: str = None, format: str = None):
        """Declare an output; its path derives from the notebook's path unless `file_path` is given."""
        self._check_open("output", name)
        check_table_name(name, "output", self._rel_path)
        if alias is not None:
            check_table_name(alias, "output alias", self._rel_path)
        storage = self.ctx.storage
        if format is not None and format not in ("parquet", "delta"):
            raise ArgumentError(f"Output '{name}' of notebook '{self._rel_path}': format must be 'parquet' or 'delta'.")
        if file_path:
            path = storage.get_abs_path(file_path)
        else:
            relative = f"{self._project_path}/{name}"
            path = storage.get_abs_path(
                storage.get_path_in_root_dir(storage.get_path_with_file_extension(relative, format))
            )
        fmt = format or storage.format_from_extension(path) or storage.table_format
        self._outputs[name] = AliasedOutputTable(name, path, cols, self.ctx, alias, fmt)
        return self

    def get_outputs(self) -> dict[str, AliasedOutputTable]:
        return self._outputs

    def tags(self, *tags: str) -> LazyNotebook:
        """Label the step, for selection with `tag:<name>`."""
        bad = [t for t in tags if not isinstance(t, str) or not t.strip()]
        if bad:
            raise ArgumentError(f"Tags of notebook '{self._rel_path}' must be non-empty strings, not {bad!r}.")
        self._tags = tuple(dict.fromkeys(self._tags + tags))
        return self

    def get_tags(self) -> tuple[str, ...]:
        return self._tags

    def after(self, *notebooks: LazyNotebook) -> LazyNotebook:
        """Run this step after `notebooks` in a DAG, though they share no table."""
        if any(nb is self for nb in notebooks):
            raise ArgumentError(f"Notebook '{self._rel_path}' cannot run after itself.")
        self._after += tuple(nb for nb in notebooks if nb not in self._after)
        return self

    def get_after(self) -> tuple[LazyNotebook, ...]:
        return self._after

    def __rshift__(self, other: LazyNotebook) -> LazyNotebook:
        """`a >> b`: b runs after a; returns b, so `a >> b >> c` chains."""
        other.after(self)
        return other

    def retries(self, n: int, backoff: float = 1.0, on=RETRY_ON) -> LazyNotebook:
        """Retry a failed run up to `n` times, waiting `backoff` seconds, doubled after each attempt."""
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_RETRIES:
            raise ArgumentError(
                f"Retries of notebook '{self._rel_path}' must be a whole number from 0 to {MAX_RETRIES}, not {n!r}."
            )
        if isinstance(backoff, bool) or not isinstance(backoff, int | float) or not 0 <= backoff <= MAX_BACKOFF:
            raise ArgumentError(
                f"Backoff of notebook '{self._rel_path}' must be 0 to {MAX_BACKOFF} seconds, not {backoff!r}."
            )
        on = on if isinstance(on, tuple) else (on,)
        if not on or not all(isinstance(t, type) and issubclass(t, BaseException) for t in on):
            raise ArgumentError(f"on= of notebook '{self._rel_path}' must be exception classes, not {on!r}.")
        self._retries, self._backoff, self._retry_on = n, float(backoff), on
        return self

    @property
    def result(self):
        """The exit value of the last run (None if it never ran or exited without a value)."""
        return self._last_run_result

    # -- running ----------------------------------------------------------------------------
    def widget_arguments(self) -> dict[str, str]:
        """The string map handed to the notebook: args, `<T>_in` and `<T>_out` (engine paths)."""
        engine = self.ctx.storage.engine_path
        widgets: dict[str, str] = {}
        sources: dict[str, str] = {}
        entries = [(n, v, "argument") for n, v in self._args.items()]
        entries += [
            (f"{n}_in", engine(i.abs_file_path) if i.abs_file_path else "", "input") for n, i in self._inputs.items()
        ]
        entries += [(f"{n}_out", engine(o.abs_file_path), "output") for n, o in self._outputs.items()]
        for widget, value, kind in entries:
            if widget in widgets:
                raise ArgumentError(
                    f"Notebook '{self._rel_path}': widget '{widget}' is both an {sources[widget]} and an {kind}; "
                    "rename the argument or the table."
                )
            widgets[widget] = value
            sources[widget] = kind
        return widgets

    def share_arguments(self) -> None:
        """Publish this call's args and paths on the flow bus, for interactive runs of the callee."""
        from dtflw.com import NotebooksChannel

        channel = NotebooksChannel(self.ctx.spark)
        channel.share_args(self.abs_path, self._args)
        channel.share_inputs(self.abs_path, {n: i.abs_file_path for n, i in self._inputs.items()})
        channel.share_outputs(self.abs_path, {n: o.abs_file_path for n, o in self._outputs.items()})

    def run(self, is_lazy: bool = False, strict_validation: bool = False):
        """Run the notebook (lazily: only if not up to date) and return its exit value.

        Inside a `flow.dag()` block the step is declared instead, and runs when the block ends.
        """
        collector = self.ctx.collector
        if collector is not None:
            collector.add(self, is_lazy, strict_validation)
            return None
        selection = getattr(self.ctx.runtime, "selection", None)
        if selection is not None and not selection.includes(self):
            self.leave_out()
            return None
        return self.execute(is_lazy, strict_validation)

    def leave_out(self) -> None:
        """Skip the step, not selected: later steps read its outputs where an earlier run left them."""
        record = self._new_record(1, [self._input_use(n, i, None) for n, i in self._inputs.items()])
        record.status, record.reason = RunStatus.SKIPPED, NOT_SELECTED
        self.ctx.logger.log(f"Skipped run: '{self.abs_path}' ({NOT_SELECTED})")
        self._finish(record, self._output_states())

    def execute(self, is_lazy: bool = False, strict_validation: bool = False):
        """Run now, retrying as configured; return the exit value."""
        is_lazy = is_lazy or getattr(self.ctx.runtime, "force_lazy", False)
        attempt = 1
        while True:
            try:
                return self._attempt(is_lazy and attempt == 1, strict_validation, attempt)
            except self._retry_on as e:
                if attempt > self._retries or isinstance(e, UNRETRIED):
                    raise
                delay = self._backoff * 2 ** (attempt - 1)
                why = scrub(str(e), self.ctx.secret_values)
                self.ctx.logger.log(f"Retrying '{self.abs_path}' in {delay:.1f}s after attempt {attempt}: {why}")
                time.sleep(delay)
                attempt += 1

    def _output_states(self) -> dict:
        """Each output's table state now, by output name."""
        return {name: self.ctx.storage.table_state(o.abs_file_path) for name, o in self._outputs.items()}

    def _input_state(self, table: InputTable):
        """The state of an input's table now (None for a glob or a path not yet known)."""
        path = table.abs_file_path
        return self.ctx.storage.table_state(path) if path and not table.is_glob else None

    def _prepare_inputs(self) -> dict:
        """Validate the inputs (an absent optional one becomes ""); return their states as seen now."""
        states = {}
        for name, table in list(self._inputs.items()):
            state = self._input_state(table)
            present = state.exists if state is not None else table.is_present()
            if table.is_optional and not present:
                self._inputs[name] = InputTable(name, "", self.ctx, True, notebook=self._rel_path)
                state = None
            table.validate(present=present)
            states[name] = state
        return states

    def _fingerprint(self, inputs: list[TableUse]) -> Fingerprint:
        source_of = getattr(self.ctx.runtime.runner, "source_fingerprint", None)
        source = source_of(self._rel_path) if source_of else None
        versions = {u.name: u.state.version_label if u.state and u.state.exists else "" for u in inputs}
        key = storage_key(self.ctx.storage, create=getattr(self.ctx.runtime, "planner", None) is None)
        return Fingerprint.of(source, self._args, versions, key)

    def _attempt(self, is_lazy: bool, strict_validation: bool, attempt: int):
        ctx = self.ctx
        runtime = ctx.runtime
        notebook = self.abs_path
        input_states = self._prepare_inputs()
        arguments = self.widget_arguments()
        if runtime is not None and not runtime.is_job and not runtime.is_local:
            self.share_arguments()
        storage = ctx.storage
        out_states = self._output_states()
        record = self._new_record(attempt, [self._input_use(n, i, input_states[n]) for n, i in self._inputs.items()])
        fingerprint = self._fingerprint(record.inputs)
        record.source_fingerprint = fingerprint.source
        history = RunHistory(storage)
        output_paths = [o.abs_file_path for o in self._outputs.values()]
        if is_lazy:
            skip, record.reason = decide(out_states, fingerprint, history.last(notebook, output_paths))
            if skip:
                ctx.logger.log(f"Skipped run: '{notebook}' ({record.reason})")
                record.status = RunStatus.SKIPPED
                if record.reason == NO_HISTORY:
                    history.record(notebook, output_paths, fingerprint, record.run_id)
                self._finish(record, out_states)
                return self._last_run_result
        ctx.logger.log(f"Running: '{notebook}'" + (f" ({record.reason})" if record.reason else ""))
        ctx.listeners.emit("on_notebook_start", ctx.flow_run, record)
        try:
            result = runtime.runner.run(self._rel_path, self._timeout, arguments, run_id=record.run_id)
            out_states = self._output_states()
            for name, output in self._outputs.items():
                output.validate(strict_validation, notebook, out_states[name])
        except DtflwError as e:
            self._fail(record, e, out_states)
            raise
        except Exception as e:
            self._fail(record, e, out_states)
            why = scrub(str(e), ctx.secret_values)
            raise NotebookFailedError(f"Notebook '{notebook}' failed: {why}", notebook_path=notebook) from e
        self._last_run_result = result
        record.status = RunStatus.SUCCEEDED
        record.exit_value = truncate(scrub(result, ctx.secret_values))
        history.record(notebook, output_paths, fingerprint, record.run_id)
        self._finish(record, out_states)
        return result

    def lazy_decision(self) -> tuple[bool, str]:
        """(skip?, why) if the step ran lazily now; reads only the storage, runs nothing."""
        out_states = self._output_states()
        fingerprint = self._fingerprint([self._input_use(n, i, self._input_state(i)) for n, i in self._inputs.items()])
        last = RunHistory(self.ctx.storage).last(self.abs_path, [o.abs_file_path for o in self._outputs.values()])
        return decide(out_states, fingerprint, last)

    def _new_record(self, attempt: int, inputs: list[TableUse]) -> NotebookRun:
        return NotebookRun(
            run_id=new_run_id(),
            flow_run_id=self.ctx.flow_run.run_id,
            notebook_path=self.abs_path,
            rel_path=self._rel_path,
            args=self.redacted_args(),
            inputs=inputs,
            outputs=[],
            parent_run_id=getattr(self.ctx.runtime, "run_id", None),
            attempt=attempt,
            tags=self._tags,
        )

    @staticmethod
    def _input_use(name: str, table: InputTable, state) -> TableUse:
        return TableUse(name, table.abs_file_path or "", state.format if state else None, state=state)

    def _fail(self, record: NotebookRun, error: Exception, out_states: dict) -> None:
        record.status = RunStatus.FAILED
        self.ctx.failures.append(record)
        record.error = scrub(f"{type(error).__name__}: {error}", self.ctx.secret_values)
        self._finish(record, out_states, publish=False)

    def _finish(self, record: NotebookRun, out_states: dict, publish: bool = True) -> None:
        ctx = self.ctx
        record.outputs = [
            TableUse(o.name, o.abs_file_path, o.table_format, o.alias, out_states.get(n))
            for n, o in self._outputs.items()
        ]
        record.ended = time.time()
        if publish:
            ctx.publish_tables({o.alias: o.abs_file_path for o in self._outputs.values()}, self.abs_path)
            ctx.pipeline.record_run(
                PipelineRun(
                    self.abs_path,
                    self.get_args(),
                    {n: i.abs_file_path for n, i in self._inputs.items()},
                    {o.alias: o.abs_file_path for o in self._outputs.values()},
                )
            )
        ctx.listeners.emit("on_notebook_end", ctx.flow_run, record)

    def show(self) -> None:
        lines = [f"Notebook: '{self._rel_path}'", "Args:"]
        lines += [f"\t'{k}': '{v}'" for k, v in self.redacted_args().items()]
        lines.append("Inputs:")
        lines += [f"\t'{n}': '{i.abs_file_path}'" for n, i in self._inputs.items()]
        lines.append("Outputs:")
        lines += [f"\t'{n}': '{o.abs_file_path}'" for n, o in self._outputs.items()]
        self.ctx.display.show("\n".join(lines))
