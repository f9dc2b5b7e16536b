"""An output of a notebook step: a table it must write."""

from __future__ import annotations

from dtflw.assertions import schema_problems
from dtflw.errors import OutputNotFoundError, SchemaMismatchError


class OutputTable:
    """A named output, its absolute (logical) path, format and expected columns."""

    def __init__(self, name: str, abs_file_path: str, cols: list | None, ctx, table_format: str | None = None):
        self._name = name
        self._abs_file_path = abs_file_path
        self._cols = cols
        self._ctx = ctx
        self._format = table_format

    @property
    def name(self) -> str:
        return self._name

    @property
    def abs_file_path(self) -> str:
        return self._abs_file_path

    @property
    def cols(self) -> list | None:
        return self._cols

    @property
    def table_format(self) -> str | None:
        return self._format

    def needs_eval(self) -> bool:
        """True if the table is not complete on the storage."""
        return not self._ctx.storage.exists(self._abs_file_path)

    def validate(self, strict: bool = False, notebook: str = "", state=None) -> None:
        """Raise if the table is missing, or (when `cols` is set) if its schema differs.

        `state`: the table's `TableState`, if the caller has just read it.
        """
        if state is not None and state.problem:
            raise OutputNotFoundError(
                f"Notebook '{notebook}' left output '{self._name}' at '{self._abs_file_path}' incomplete: "
                f"{state.problem}. Write the whole table to the path in its widget '{self._name}_out'."
            )
        if self.needs_eval() if state is None else not state.exists:
            raise OutputNotFoundError(
                f"Notebook '{notebook}' did not write output '{self._name}' at '{self._abs_file_path}'. "
                f"Write the table to the path in its widget '{self._name}_out'."
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

    def __init__(self, name, abs_file_path, cols, ctx, alias=None, table_format=None):
        super().__init__(name, abs_file_path, cols, ctx, table_format)
        self.alias = alias or name
