"""What an output expects of its rows, and what an evaluation found: declared with the output,
checked before anything runs, carried into lineage. No Spark here (see `dtflw.expectations.scan`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from dtflw.errors import ExpectationError

WARN, FAIL = "warn", "fail"
ROW = "row"  # a SQL boolean expression over each row
TABLE_RULES = ("unique", "min_rows", "max_rows", "min_ratio_to_previous")
_ACTION_KEY = "on_violation"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .:-]{0,127}$")
MAX_SAMPLES = 5


@dataclass(frozen=True)
class Expectation:
    """One expectation of a table: a row rule (`rule="row"`, `expression` a SQL boolean expression) or a
    table rule (`unique`, `min_rows`, `max_rows`, `min_ratio_to_previous`, with its `param`)."""

    name: str
    rule: str
    expression: str
    action: str
    param: Any = None  # by rule: the columns (unique), a row count (min_rows, max_rows) or a ratio

    @property
    def is_row(self) -> bool:
        return self.rule == ROW


@dataclass(frozen=True)
class ExpectationResult:
    """What one evaluation of an expectation found: rows that passed and failed (for a table rule, `failed` is
    how far it missed: duplicate rows, rows short of or over a bound), and a few failing rows."""

    table: str
    name: str
    expression: str
    action: str
    passed: int
    failed: int
    rule: str = ROW
    detail: str = ""
    samples: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def blocking_failure(self) -> bool:
        return self.action == FAIL and not self.ok

    def describe(self) -> str:
        """One line: `Orders.qty_positive (qty > 0, fail): 2 of 10 rows failed`."""
        total = self.passed + self.failed
        found = self.detail or (
            f"{self.failed:,} of {total:,} rows failed" if self.failed else f"{total:,} rows passed"
        )
        return f"{self.table}.{self.name} ({self.expression}, {self.action}): {found}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "name": self.name,
            "rule": self.rule,
            "expression": self.expression,
            "action": self.action,
            "passed": self.passed,
            "failed": self.failed,
            "detail": self.detail,
            "samples": [dict(s) for s in self.samples],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExpectationResult:
        """The result a lineage document holds, once the document's schema has validated it."""
        return cls(
            d["table"],
            d["name"],
            d["expression"],
            d["action"],
            d["passed"],
            d["failed"],
            d["rule"],
            d.get("detail") or "",
            tuple(d.get("samples") or ()),
        )


def declare(
    notebook: str, table: str, expect: object = None, expect_or_fail: object = None, expect_table: object = None
) -> tuple[Expectation, ...]:
    """The expectations of output `table` of `notebook`, checked: `expect` and `expect_or_fail` map names to
    SQL boolean expressions (warn / fail, as Databricks' expectations); `expect_table` maps table rules to
    their bounds, blocking unless `"on_violation": "warn"`."""
    found: list[Expectation] = []
    for action, rules in ((WARN, expect), (FAIL, expect_or_fail)):
        for name, expression in _mapping(notebook, table, rules, "expect" if action == WARN else "expect_or_fail"):
            found.append(
                Expectation(_name(notebook, table, name), ROW, _expression(notebook, table, name, expression), action)
            )
    found += _table_rules(notebook, table, expect_table)
    names = [e.name for e in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ExpectationError(
            f"Output '{table}' of notebook '{notebook}' declares expectation(s) {twice} more than once; "
            "give each expectation of a table its own name."
        )
    return tuple(found)


def _mapping(notebook: str, table: str, rules: object, what: str) -> list[tuple[Any, Any]]:
    if rules is None:
        return []
    if not isinstance(rules, dict):
        raise ExpectationError(
            f"{what}= of output '{table}' of notebook '{notebook}' must map names to SQL boolean expressions, "
            f"e.g. {{'qty_positive': 'qty > 0'}}, not {type(rules).__name__}."
        )
    return list(rules.items())


def _name(notebook: str, table: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ExpectationError(
            f"Expectation name {name!r} of output '{table}' of notebook '{notebook}' must start with a letter or _ "
            "and hold letters, digits, spaces or _ . : - (at most 128 characters)."
        )
    return name


def _expression(notebook: str, table: str, name: str, expression: object) -> str:
    if not isinstance(expression, str) or not expression.strip():
        raise ExpectationError(
            f"Expectation '{name}' of output '{table}' of notebook '{notebook}' must be a SQL boolean expression "
            f"over the table's rows (e.g. 'qty > 0'), not {expression!r}."
        )
    if expression.count("(") != expression.count(")") or ";" in expression:
        raise ExpectationError(
            f"Expectation '{name}' of output '{table}' of notebook '{notebook}' does not parse: {expression!r} "
            "(unbalanced parentheses or a ';'). Write one SQL boolean expression."
        )
    return expression.strip()


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def max_age_seconds(notebook: str, table: str, value: object) -> float | None:
    """An input's freshness bound in seconds: a number of seconds, a `timedelta`, or text like '90m', '24h',
    '7d'; None for none."""
    if value is None:
        return None
    if hasattr(value, "total_seconds"):
        value = value.total_seconds()
    if isinstance(value, str) and (match := _AGE.match(value)):
        number, unit = match.groups()
        value = float(number) * _AGE_UNITS[unit]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ExpectationError(
            f"max_age of input '{table}' of notebook '{notebook}' must be seconds > 0, a timedelta, or text such as "
            f"'90m', '24h' or '7d', not {value!r}."
        )
    return float(value)


def age_text(seconds: float) -> str:
    """`36h`, `90m`, `45s`: a duration as the largest unit that keeps it whole-ish."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _table_rules(notebook: str, table: str, rules: object) -> list[Expectation]:
    items = dict(_mapping(notebook, table, rules, "expect_table"))
    action = items.pop(_ACTION_KEY, FAIL)
    where = f"expect_table of output '{table}' of notebook '{notebook}'"
    if action not in (WARN, FAIL):
        raise ExpectationError(f"{where}: {_ACTION_KEY} must be 'warn' or 'fail', not {action!r}.")
    unknown = sorted(set(items) - set(TABLE_RULES))
    if unknown:
        raise ExpectationError(f"{where}: unknown rule(s) {unknown}; the rules are {', '.join(TABLE_RULES)}.")
    return [
        Expectation(rule, rule, _rule_text(where, rule, value), action, _param(where, rule, value))
        for rule, value in items.items()
    ]


def _param(where: str, rule: str, value: Any) -> Any:  # by rule, as `Expectation.param`
    if rule == "unique":
        columns = [value] if isinstance(value, str) else value
        if not isinstance(columns, list | tuple) or not columns or not all(isinstance(c, str) and c for c in columns):
            raise ExpectationError(f"{where}: 'unique' takes a column name or a list of them, not {value!r}.")
        return tuple(columns)
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if rule == "min_ratio_to_previous":
        if not number or not 0 < value <= 10:
            raise ExpectationError(f"{where}: 'min_ratio_to_previous' takes a ratio such as 0.9 (90%), not {value!r}.")
        return float(value)
    if not number or value != int(value) or value < 0:
        raise ExpectationError(f"{where}: '{rule}' takes a whole number of rows >= 0, not {value!r}.")
    return int(value)


def _rule_text(where: str, rule: str, value: Any) -> str:
    param = _param(where, rule, value)
    if rule == "unique":
        return f"unique({', '.join(param)})"
    if rule == "min_ratio_to_previous":
        return f"rows >= {param:g} × previous rows"
    return f"rows {'>=' if rule == 'min_rows' else '<='} {param}"
