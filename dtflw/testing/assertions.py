"""Table assertions for notebook tests, on chispa: order-insensitive by default, as tables are."""

from __future__ import annotations

from typing import Any

from dtflw.extras import extra


def assert_table_equal(
    actual: Any, expected: Any, *, ignore_row_order: bool = True, ignore_nullable: bool = True, **options: Any
) -> None:
    """Assert two DataFrames hold the same rows and schema (chispa's `assert_df_equality`).

    `expected` may also be a list of tuples or dicts: it is made into a DataFrame with `actual`'s schema."""
    with extra("testing", "assert_table_equal"):
        from chispa import assert_df_equality

    if isinstance(expected, list):
        expected = actual.sparkSession.createDataFrame(expected, actual.schema)
    assert_df_equality(actual, expected, ignore_row_order=ignore_row_order, ignore_nullable=ignore_nullable, **options)


def assert_approx_table_equal(
    actual: Any, expected: Any, precision: float, *, ignore_row_order: bool = True, **options: Any
) -> None:
    """Like `assert_table_equal`, with floating-point columns equal within `precision`."""
    with extra("testing", "assert_approx_table_equal"):
        from chispa import assert_approx_df_equality

    if isinstance(expected, list):
        expected = actual.sparkSession.createDataFrame(expected, actual.schema)
    assert_approx_df_equality(actual, expected, precision, ignore_row_order=ignore_row_order, **options)
