"""Schema checks of tables against declared columns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dtflw.errors import SchemaMismatchError

# actual type → expected types it may stand for (safe widenings)
_WIDENINGS = {
    "tinyint": {"smallint", "int", "bigint"},
    "smallint": {"int", "bigint"},
    "int": {"bigint"},
    "float": {"double"},
}


def _compatible(actual: str, expected: str) -> bool:
    return actual == expected or expected in _WIDENINGS.get(actual, set())


def schema_problems(
    actual_dtypes: Iterable[Any] | None, expected_dtypes: Iterable[Any] | None, is_strict: bool = False
) -> list[str]:
    """What differs between actual `(column, type)` pairs and expected ones (type None = any)."""
    if actual_dtypes is None:
        raise ValueError("actual_dtypes must not be None.")
    if expected_dtypes is None:
        raise ValueError("expected_dtypes must not be None.")
    actual: dict[str, str] = dict(actual_dtypes)  # (column, type) pairs
    problems = []
    for column, expected_type in expected_dtypes:
        if column not in actual:
            problems.append(f"Column '{column}' is not present in the table.")
        elif expected_type is not None and not _compatible(actual[column], expected_type):
            problems.append(f"Column's '{column}' expected type is '{expected_type}' but '{actual[column]}' is given.")
    if is_strict:
        extra = [c for c in actual if c not in dict(expected_dtypes)]
        if extra:
            problems.append(f"Additional columns were present in the table. Columns: {extra}")
    return problems


def assert_schema_compatible(
    actual_dtypes: Iterable[Any] | None, expected_dtypes: Iterable[Any] | None, is_strict: bool = False
) -> None:
    """Raise `SchemaMismatchError` (an AssertionError) listing every difference."""
    problems = schema_problems(actual_dtypes, expected_dtypes, is_strict)
    if problems:
        raise SchemaMismatchError("\n".join(problems))
