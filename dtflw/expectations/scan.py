"""Evaluating a table's expectations with Spark: all of them in one aggregate query (one scan), on the
session that reads the table; a few failing rows of a failed blocking expectation in one more query.
Spark is imported only here, when a table is checked."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from dtflw.errors import ExpectationError
from dtflw.expectations.spec import MAX_SAMPLES, Expectation, ExpectationResult

MAX_SAMPLE_TEXT = 200


def evaluate(
    df: Any,
    notebook: str,
    table: str,
    expectations: tuple[Expectation, ...],
    previous_rows: int | None = None,
    scrub: Callable[[str | None], str | None] = str,
) -> list[ExpectationResult]:
    """Every expectation of `table` (DataFrame `df`) in one scan; `previous_rows`: the rows of the version the
    notebook replaced (for `min_ratio_to_previous`); `scrub` hides secrets in the failing rows kept."""
    _check_unique_columns(df, notebook, table, expectations)
    try:
        found = df.agg(*_aggregates(expectations)).collect()[0]
    except Exception as error:
        diagnose(df, notebook, table, expectations)
        raise ExpectationError(
            f"Expectations of output '{table}' of notebook '{notebook}' could not be evaluated: {_first_line(error)}"
        ) from None
    rows = int(found[0] or 0)
    results = [_result(e, table, rows, found[i + 1], previous_rows) for i, e in enumerate(expectations)]
    return [
        _with_samples(df, r, e, scrub) if e.is_row and r.blocking_failure else r for r, e in zip(results, expectations)
    ]


def diagnose(df: Any, notebook: str, table: str, expectations: tuple[Expectation, ...]) -> None:
    """Raise `ExpectationError` naming the first row expectation that does not parse, names a column `df`
    lacks, or is not boolean (each analysed alone; no data is read)."""
    for e in expectations:
        if not e.is_row:
            continue
        try:
            dtype = df.selectExpr(f"({e.expression}) AS _expectation").schema.fields[0].dataType.simpleString()
        except Exception as error:
            raise ExpectationError(
                f"Expectation '{e.name}' ({e.expression}) of output '{table}' of notebook '{notebook}' is not a valid "
                f"expression over the table's columns {list(df.columns)}: {_first_line(error)}"
            ) from None
        if dtype != "boolean":
            raise ExpectationError(
                f"Expectation '{e.name}' ({e.expression}) of output '{table}' of notebook '{notebook}' is {dtype}, "
                "not boolean: write a condition each row must meet, e.g. 'qty > 0'."
            )


def check_against_columns(
    spark: Any, notebook: str, table: str, expectations: tuple[Expectation, ...], cols: Sequence[Any] | None
) -> None:
    """Before the notebook runs: check the expectations against the declared `cols` ((name, type) pairs), when
    every type is given; an empty DataFrame of that schema is analysed, nothing is read."""
    if not cols or any(not isinstance(c, list | tuple) or len(c) != 2 or not c[1] for c in cols):
        return
    ddl = ", ".join(f"`{name}` {dtype}" for name, dtype in cols)
    diagnose(spark.createDataFrame([], ddl), notebook, table, expectations)
    _check_unique_columns_in([c[0] for c in cols], notebook, table, expectations)


def _check_unique_columns(df: Any, notebook: str, table: str, expectations: Iterable[Expectation]) -> None:
    if any(e.rule == "unique" for e in expectations):
        _check_unique_columns_in(df.columns, notebook, table, expectations)


def _check_unique_columns_in(
    columns: Collection[str], notebook: str, table: str, expectations: Iterable[Expectation]
) -> None:
    known = {c.lower() for c in columns}
    for e in expectations:
        missing = [c for c in e.param if c.lower() not in known] if e.rule == "unique" else []
        if missing:
            raise ExpectationError(
                f"Expectation 'unique' of output '{table}' of notebook '{notebook}' names column(s) {missing} the "
                f"table does not have; its columns are {list(columns)}."
            )


def _aggregates(expectations: Iterable[Expectation]) -> list[Any]:  # pyspark Columns
    from pyspark.sql import functions as F

    aggregates = [F.count(F.lit(1))]
    for e in expectations:
        if e.is_row:  # a row fails when the expression is false (NULL passes, as in Databricks and CHECK)
            aggregates.append(F.expr(f"sum(CASE WHEN NOT ({e.expression}) THEN 1 ELSE 0 END)"))
        elif e.rule == "unique":
            aggregates.append(F.expr(f"count(DISTINCT struct({', '.join(f'`{c}`' for c in e.param)}))"))
        else:
            aggregates.append(F.lit(None))
    return aggregates


def _result(e: Expectation, table: str, rows: int, value: Any, previous_rows: int | None) -> ExpectationResult:
    def made(passed: int, failed: int, detail: str = "") -> ExpectationResult:
        return ExpectationResult(table, e.name, e.expression, e.action, passed, failed, e.rule, detail)

    if e.is_row:
        failed = int(value or 0)
        return made(rows - failed, failed)
    if e.rule == "unique":
        distinct = int(value or 0)
        return made(
            distinct, rows - distinct, f"{rows - distinct:,} duplicate row(s) of {rows:,}" if rows > distinct else ""
        )
    if e.rule == "min_rows":
        return made(rows, max(0, e.param - rows), f"{rows:,} rows, fewer than {e.param:,}" if rows < e.param else "")
    if e.rule == "max_rows":
        return made(rows, max(0, rows - e.param), f"{rows:,} rows, more than {e.param:,}" if rows > e.param else "")
    if previous_rows is None:
        return made(rows, 0, f"{rows:,} rows; no previous version to compare with")
    needed = math.ceil(e.param * previous_rows)
    detail = f"{rows:,} rows, previous {previous_rows:,} (needs >= {needed:,})"
    return made(rows, max(0, needed - rows), detail if rows < needed else "")


def _with_samples(
    df: Any, result: ExpectationResult, e: Expectation, scrub: Callable[[str | None], str | None]
) -> ExpectationResult:
    """The result with up to MAX_SAMPLES failing rows, each value as short text with secrets scrubbed."""
    try:
        rows = df.where(f"NOT ({e.expression})").limit(MAX_SAMPLES).collect()
    except Exception:  # the counts are what matter: a sample that cannot be read is left out
        return result
    samples = tuple({k: scrub(_short(v)) for k, v in row.asDict().items()} for row in rows)
    return ExpectationResult(
        result.table,
        result.name,
        result.expression,
        result.action,
        result.passed,
        result.failed,
        result.rule,
        result.detail,
        samples,
    )


def _short(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_SAMPLE_TEXT else text[:MAX_SAMPLE_TEXT] + "…"


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line if len(line) <= 400 else line[:400] + "…"
