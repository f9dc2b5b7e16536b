"""The tables of a notebook step: the inputs it reads and the outputs it must write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dtflw.core.schema import schema_problems
from dtflw.errors import (
    InputNotFoundError,
    OutputNotFoundError,
    SchemaMismatchError,
    StaleOutputError,
    UnresolvedInputError,
)
from dtflw.storage.glob import has_glob
from dtflw.storage.tables import written_between

if TYPE_CHECKING:
    from dtflw.core.context import FlowContext
    from dtflw.expectations.spec import Expectation
    from dtflw.storage.tables import TableState


class InputTable:
    """A named input with its absolute (logical) path; `None` if no producer was found."""

    def __init__(
        self,
        name: str,
        abs_file_path: str | None,
        ctx: FlowContext,
        is_optional: bool = False,
        notebook: str = "",
        source: str | None = None,
        max_age: float | None = None,
    ) -> None:
        self._name = name
        self._max_age = max_age
        self._source = source
        self._abs_file_path = abs_file_path
        self._ctx = ctx
        self._is_optional = is_optional
        self._notebook = notebook

    @property
    def name(self) -> str:
        return self._name

    @property
    def abs_file_path(self) -> str | None:
        return self._abs_file_path

    @property
    def source(self) -> str | None:
        """The table name this input resolves from (None when it has an explicit file_path)."""
        return self._source

    def resolve(self, abs_file_path: str) -> None:
        """Set the path of an input declared in a DAG, once its producer is known."""
        self._abs_file_path = abs_file_path

    @property
    def is_optional(self) -> bool:
        return self._is_optional

    @property
    def max_age(self) -> float | None:
        """Seconds since its last write beyond which the input is stale and the step does not run (None: any)."""
        return self._max_age

    @property
    def is_glob(self) -> bool:
        return bool(self._abs_file_path and has_glob(self._abs_file_path))

    def is_present(self) -> bool:
        """True if the path has files (a glob: at least one match)."""
        if not self._abs_file_path:
            return False
        storage = self._ctx.storage
        if self.is_glob:
            return bool(storage.list(self._abs_file_path))
        return storage.exists(self._abs_file_path)

    def needs_eval(self) -> bool:
        """True if this required input is missing (0.6 API)."""
        return not self._is_optional and not self.is_present()

    def validate(self, strict: bool = False, present: bool | None = None) -> None:
        """Raise if a required input is unresolved or missing (`present`: already checked by the caller)."""
        if self._is_optional:
            return
        if not self._abs_file_path:
            raise UnresolvedInputError(
                f"Required input not found. Input '{self._name}' of notebook '{self._notebook}': no earlier notebook of this flow produced a "
                f"table named '{self._name}', and no file_path was given. Run its producer first, or pass "
                "file_path= (or source_table= if it was published under an alias)."
            )
        if not (self.is_present() if present is None else present):
            problem = None if self.is_glob else self._ctx.storage.table_state(self._abs_file_path).problem
            if problem:
                raise InputNotFoundError(
                    f"Input '{self._name}' of notebook '{self._notebook}' at '{self._abs_file_path}' is incomplete: "
                    f"{problem}. Run its producer again."
                )
            raise InputNotFoundError(
                f"Required input not found. Input '{self._name}' of notebook '{self._notebook}' not found at '{self._abs_file_path}'. "
                "Check the path, or mark the input is_optional=True."
            )


class OutputTable:
    """A named output, its absolute (logical) path, format and expected columns."""

    def __init__(
        self,
        name: str,
        abs_file_path: str,
        cols: list[Any] | None,
        ctx: FlowContext,
        table_format: str | None = None,
        expectations: Iterable[Expectation] = (),
        is_explicit: bool = False,
    ) -> None:
        self._name = name
        self._abs_file_path = abs_file_path
        self._cols = cols
        self._ctx = ctx
        self._format = table_format
        self._expectations = tuple(expectations)
        self._is_explicit = is_explicit

    @property
    def name(self) -> str:
        return self._name

    @property
    def abs_file_path(self) -> str:
        return self._abs_file_path

    @property
    def cols(self) -> list[Any] | None:
        return self._cols

    @property
    def table_format(self) -> str | None:
        return self._format

    @property
    def is_explicit(self) -> bool:
        """True if the output's location was given (`file_path=` or `table=`), not derived from the notebook's
        path: it may be the declared output of the notebook that runs this one (a nested flow)."""
        return self._is_explicit

    @property
    def expectations(self) -> tuple[Expectation, ...]:
        """What the table's rows must meet (`dtflw.expectations.Expectation`s), checked after each write."""
        return self._expectations

    def needs_eval(self) -> bool:
        """True if the table is not complete on the storage."""
        return not self._ctx.storage.exists(self._abs_file_path)

    def validate(
        self,
        strict: bool = False,
        notebook: str = "",
        state: TableState | None = None,
        before: TableState | None = None,
    ) -> None:
        """Raise if the table is missing, or (when `cols` is set) if its schema differs.

        `state`: the table's `TableState`, if the caller has just read it; `before`: its state before the
        notebook ran, if it must have been written since (an earlier run's table never passes as new).
        """
        if state is not None and state.problem:
            raise OutputNotFoundError(
                f"Notebook '{notebook}' left output '{self._name}' at '{self._abs_file_path}' incomplete: "
                f"{state.problem}. Write the whole table to the path in its widget '{self._name}_out'."
            )
        if self.needs_eval() if state is None else not state.exists:
            raise OutputNotFoundError(
                f"Expected output not found. Notebook '{notebook}' did not write output '{self._name}' at '{self._abs_file_path}'. "
                f"Write the table to the path in its widget '{self._name}_out'."
            )
        if before is not None and state is not None and not written_between(before, state):
            raise StaleOutputError(
                f"Notebook '{notebook}' did not write output '{self._name}' at '{self._abs_file_path}': the table "
                f"there is unchanged since before the run ({before.version_label}), an earlier run's. Write it to "
                f"the path in its widget '{self._name}_out' on every run, or do not declare it as an output."
            )
        self.check_schema(strict, notebook)

    def check_schema(self, strict: bool = False, notebook: str = "") -> None:
        if not self._cols:
            return
        df = self._ctx.storage.read_table(self._abs_file_path, self._format)
        problems = schema_problems(df.dtypes, self._cols, strict)
        if problems:
            raise SchemaMismatchError(
                f"Output '{self._name}' of notebook '{notebook}' at '{self._abs_file_path}' has an unexpected "
                "schema:\n  " + "\n  ".join(problems)
            )


class AliasedOutputTable(OutputTable):
    """An output published under an alias (its file name still uses `name`)."""

    def __init__(
        self,
        name: str,
        abs_file_path: str,
        cols: list[Any] | None,
        ctx: FlowContext,
        alias: str | None = None,
        table_format: str | None = None,
        expectations: Iterable[Expectation] = (),
        is_explicit: bool = False,
    ) -> None:
        super().__init__(name, abs_file_path, cols, ctx, table_format, expectations, is_explicit)
        self.alias = alias or name
