"""A notebook step: the fluent spec of one notebook call — args, inputs, outputs, timeout,
retries, tags — validated as it is built. `.run()` hands it to the flow's step executor (`dtflw.core.executor`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from dtflw.core.names import check_notebook_path, check_table_name
from dtflw.core.paths import project_relative_path
from dtflw.core.tables import AliasedOutputTable, InputTable
from dtflw.core.uc_tables import spark_path, table_ref
from dtflw.core.widgets import as_widget_value, widget_map
from dtflw.errors import ArgumentError, ManagedTableFormatError
from dtflw.events import redact
from dtflw.expectations.spec import declare, max_age_seconds
from dtflw.storage.base import NamingOutputTables
from dtflw.storage.tables import check_apart

if TYPE_CHECKING:
    from dtflw.core.context import FlowContext

MAX_RETRIES = 20
RETRY_ON = (Exception,)
MAX_BACKOFF = 3600.0


class LazyNotebook:
    """One notebook call being built: `.args()`, `.input()`, `.output()`, then `.run()`.

    Its inputs and outputs are final once a DAG holds it; running it never changes them.
    """

    AliasedOutputTable: TypeAlias = AliasedOutputTable

    def __init__(self, rel_path: str, ctx: FlowContext) -> None:
        self._rel_path = check_notebook_path(rel_path)
        self.ctx = ctx
        self._abs_path = ctx.resolve_notebook_path(rel_path)
        self._project_path = project_relative_path(self._abs_path)  # default outputs live under it
        self._args: dict[str, str] = {}
        self._secret_args: frozenset[str] = frozenset()
        self._timeout = 0
        self._inputs: dict[str, InputTable] = {}
        self._outputs: dict[str, AliasedOutputTable] = {}
        self._last_run_result: str | None = None
        self._tags: tuple[str, ...] = ()
        self._step_name: str | None = None
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

    def args(self, args: dict[str, Any], secret: str | Iterable[str] = ()) -> LazyNotebook:
        """Set the notebook's arguments (replacing earlier ones); names in `secret` are redacted."""
        if not isinstance(args, dict):
            raise ArgumentError(f"Arguments of notebook '{self._rel_path}' must be a dict, not {type(args).__name__}.")
        self._args = {name: as_widget_value(self._rel_path, name, value) for name, value in args.items()}
        self._secret_args = frozenset([secret] if isinstance(secret, str) else secret)
        unknown = self._secret_args - set(self._args)
        if unknown:
            raise ArgumentError(
                f"Secret names {sorted(unknown)} of notebook '{self._rel_path}' are not among its args."
            )
        self.ctx.secret_values.update(self.secret_arg_values())  # kept out of every text
        return self

    def get_args(self) -> dict[str, str]:
        return self._args

    def secret_arg_values(self) -> set[str]:
        """The values of the args named secret."""
        return {self._args[name] for name in self._secret_args}

    def redacted_args(self) -> dict[str, str]:
        """The args as logs, lineage and reports show them: secret names and revealed secret values hidden."""
        return redact(self._args, self._secret_args, self.ctx.secret_values)

    def timeout(self, timeout: int) -> LazyNotebook:
        """Stop the notebook after `timeout` seconds (0: no timeout)."""
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
            raise ArgumentError(f"Timeout of notebook '{self._rel_path}' must be whole seconds >= 0, not {timeout!r}.")
        self._timeout = timeout
        return self

    def input(
        self,
        name: str,
        file_path: str | None = None,
        source_table: str | None = None,
        is_optional: bool = False,
        max_age: float | timedelta | str | None = None,
        table: str | None = None,
    ) -> LazyNotebook:
        """Declare an input: a path on the storage, a Unity Catalog `table` (catalog.schema.table), or the
        latest table published as `source_table or name`.

        `max_age` (seconds, a timedelta, or '24h'): the input must have been written within it, else the step
        fails before the notebook runs (`ExpectationFailedError`)."""
        self._check_open("input", name)
        max_age_s = max_age_seconds(self._rel_path, name, max_age)
        check_table_name(name, "input", self._rel_path)
        if source_table is not None:
            check_table_name(source_table, "source table", self._rel_path)
        source = None
        path: str | None
        if table is not None:
            path = table_ref(table, f"input '{name}' of notebook '{self._rel_path}'")
        elif file_path:
            path = self.ctx.storage.resolve_foreign_input(file_path)
        else:
            source = source_table or name  # a DAG resolves it to its producer step
            collecting = self.ctx.step_executor.collecting  # declared in a DAG: resolved when it runs
            path = None if collecting else self.ctx.resolve_table(source, self.abs_path)
            if path is None and is_optional and not collecting:
                path = ""  # as 0.6: an optional input nobody produced has the empty path
        self._inputs[name] = InputTable(
            name, path, self.ctx, is_optional, notebook=self._rel_path, source=source, max_age=max_age_s
        )
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

    def output(
        self,
        name: str,
        cols: list[Any] | None = None,
        file_path: str | None = None,
        alias: str | None = None,
        format: str | None = None,
        expect: dict[str, str] | None = None,
        expect_or_fail: dict[str, str] | None = None,
        expect_table: dict[str, Any] | None = None,
        table: str | None = None,
    ) -> LazyNotebook:
        """Declare an output; its path derives from the notebook's path unless `file_path` is given; with
        `table` (catalog.schema.table) it is that Unity Catalog table (Delta).

        `expect` / `expect_or_fail`: {name: SQL boolean expression} its rows must meet (warn / fail the step);
        `expect_table`: table rules (`unique`, `min_rows`, `max_rows`, `min_ratio_to_previous`), blocking unless
        `on_violation: "warn"`. All are evaluated in one scan right after the notebook writes the table.
        """
        self._check_open("output", name)
        check_table_name(name, "output", self._rel_path)
        if alias is not None:
            check_table_name(alias, "output alias", self._rel_path)
        storage = self.ctx.storage
        if format is not None and format not in ("parquet", "delta"):
            raise ArgumentError(f"Output '{name}' of notebook '{self._rel_path}': format must be 'parquet' or 'delta'.")
        explicit = table is not None or bool(file_path)
        if not explicit and isinstance(storage, NamingOutputTables):
            table = storage.output_table(name)  # a Unity Catalog storage: a managed table named after the output
        if table is not None:
            if format not in (None, "delta"):
                raise ManagedTableFormatError(
                    f"Output '{name}' of notebook '{self._rel_path}': table {table!r} is a managed Unity Catalog "
                    "table, which is Delta; drop format=, or give a file_path for a parquet output."
                )
            path, format = table_ref(table, f"output '{name}' of notebook '{self._rel_path}'"), "delta"
        elif file_path:
            path = storage.get_abs_path(file_path)
        else:
            relative = f"{self._project_path}/{name}"
            path = storage.get_abs_path(
                storage.get_path_in_root_dir(storage.get_path_with_file_extension(relative, format))
            )
        fmt = format or storage.format_from_extension(path) or storage.table_format
        expectations = declare(self._rel_path, name, expect, expect_or_fail, expect_table)
        check_apart(self._rel_path, name, path, self._outputs)
        self._outputs[name] = AliasedOutputTable(name, path, cols, self.ctx, alias, fmt, expectations, explicit)
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

    def named(self, name: str) -> LazyNotebook:
        """Name the step (a pipeline file's step `name`): shown with the notebook in plans and exported jobs."""
        if not isinstance(name, str) or not name.strip():
            raise ArgumentError(f"The step name of notebook '{self._rel_path}' must be a non-empty string.")
        self._step_name = name
        return self

    def get_step_name(self) -> str | None:
        return self._step_name

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

    def retries(
        self, n: int, backoff: float = 1.0, on: type[BaseException] | tuple[type[BaseException], ...] = RETRY_ON
    ) -> LazyNotebook:
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
    def result(self) -> str | None:
        """The exit value of the last run (None if it never ran or exited without a value)."""
        return self._last_run_result

    @property
    def retry_policy(self) -> tuple[int, float, tuple[type[BaseException], ...]]:
        """(retries, backoff seconds, exception classes retried)."""
        return self._retries, self._backoff, self._retry_on

    def get_timeout(self) -> int:
        return self._timeout

    def widget_arguments(self, input_paths: dict[str, str] | None = None) -> dict[str, str]:
        """The string map handed to the notebook: args, `<T>_in` and `<T>_out` (engine paths).
        `input_paths` overrides inputs' paths as resolved at run time (an absent optional one: "")."""
        inputs = {n: i.abs_file_path or "" for n, i in self._inputs.items()}
        inputs.update(input_paths or {})
        outputs = {n: o.abs_file_path for n, o in self._outputs.items()}
        return widget_map(self._rel_path, self._args, inputs, outputs, lambda p: spark_path(self.ctx.storage, p))

    def share_arguments(self) -> None:
        """Publish this call's args and paths on the flow bus, for interactive runs of the callee (0.6 API)."""
        self.ctx.share_call(self)

    def run(self, is_lazy: bool = False, strict_validation: bool = False) -> str | None:
        """Run the notebook (lazily: only if not up to date) and return its exit value.

        Inside a `flow.dag()` block the step is declared instead, and runs when the block ends.
        A skipped step (lazy, or not selected) returns the exit value kept at its last successful
        run; so does a step declared while planning (`dtflw plan`, `--select`).
        """
        return self.ctx.step_executor.submit(self, is_lazy, strict_validation)

    def record_result(self, value: str | None) -> None:
        """Keep the exit value of the step's last run (or last recorded run, when skipped)."""
        self._last_run_result = value

    def show(self) -> None:
        lines = [f"Notebook: '{self._rel_path}'", "Args:"]
        lines += [f"\t'{k}': '{v}'" for k, v in self.redacted_args().items()]
        lines.append("Inputs:")
        lines += [f"\t'{n}': '{i.abs_file_path}'" for n, i in self._inputs.items()]
        lines.append("Outputs:")
        lines += [f"\t'{n}': '{o.abs_file_path}'" for n, o in self._outputs.items()]
        self.ctx.show_text("\n".join(lines))
