"""Widgets in SQL notebooks and `%sql` cells, as Databricks reads them.

- `CREATE WIDGET TEXT name DEFAULT 'v'` (also DROPDOWN, COMBOBOX, MULTISELECT with `CHOICES SELECT …`)
  and `REMOVE WIDGET name` act on the notebook's `dbutils.widgets`; arguments passed override defaults.
- `${name}` is replaced by the widget's value as it stands (legacy substitution, also inside quotes).
- `getArgument('name'[, 'default'])` becomes the value as a string literal.
- a named parameter marker `:name` (Databricks' current syntax) in a query is bound to the widget's
  value through `spark.sql(…, args=…)`; Sail binds markers in queries only, so in any other statement
  (`CREATE … AS SELECT`, `INSERT`, `LOCATION :x`) the marker becomes the value as a string literal.

A reference to a widget neither defined nor passed is a `SqlWidgetError` naming it, not a Spark error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dtflw.errors import SqlWidgetError
from dtflw.local.dbutils import WidgetNotDefinedError, Widgets
from dtflw.local.source import _after_block_comment, _after_quoted

_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_NAME = r"`[^`]+`|[A-Za-z_]\w*"
_CREATE = re.compile(
    rf"CREATE\s+WIDGET\s+(TEXT|DROPDOWN|COMBOBOX|MULTISELECT)\s+({_NAME})"
    rf"(?:\s+DEFAULT\s+({_STRING}))?(?:\s+CHOICES\s+(.+))?",
    re.IGNORECASE | re.DOTALL,
)
_REMOVE = re.compile(rf"REMOVE\s+WIDGET\s+({_NAME})", re.IGNORECASE)
_WIDGET_STATEMENT = re.compile(r"(CREATE|REMOVE)\s+WIDGET\b", re.IGNORECASE)
_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_SUBSTITUTION = re.compile(r"\$\{([A-Za-z_]\w*)\}")
_GET_ARGUMENT = re.compile(rf"\bgetArgument\s*\(\s*({_STRING})\s*(?:,\s*({_STRING})\s*)?\)", re.IGNORECASE)
_MARKER = re.compile(r":([A-Za-z_]\w*)")
_QUERY = re.compile(r"(?:SELECT|WITH|VALUES|FROM|TABLE)\b|\(", re.IGNORECASE)
_SYNTAX = "Write `CREATE WIDGET TEXT name DEFAULT 'value'` or `REMOVE WIDGET name`."


def run_sql(statement: str, spark: Any, widgets: Widgets, notebook: str) -> Any:
    """Run one SQL statement of notebook `notebook` with its widgets; None for a widget statement."""
    leading = _LEADING_COMMENTS.match(statement)
    assert leading is not None  # the pattern matches an empty start too
    body = statement[leading.end() :]
    if _WIDGET_STATEMENT.match(body):
        _widget_statement(body, spark, widgets, notebook)
        return None
    text, args = bind(statement, widgets, notebook, as_literals=not _QUERY.match(body))
    return spark.sql(text, args=args) if args else spark.sql(text)


def bind(statement: str, widgets: Widgets, notebook: str, as_literals: bool = False) -> tuple[str, dict[str, str]]:
    """The statement with `${name}` and `getArgument(…)` replaced, and the values of its `:name` markers
    (or, `as_literals`, with the markers replaced by string literals)."""

    def value(name: str, syntax: str) -> str:
        try:
            return widgets.get(name)
        except WidgetNotDefinedError:
            raise SqlWidgetError(
                f"Notebook '{notebook}': SQL {syntax} refers to widget '{name}', which is neither defined nor "
                f"passed. Define it first (`CREATE WIDGET TEXT {name} DEFAULT ''`) or pass it as an argument."
            ) from None

    text = _SUBSTITUTION.sub(lambda m: value(m.group(1), m.group(0)), statement)
    text = _GET_ARGUMENT.sub(lambda m: _get_argument(m, widgets), text)
    pieces: list[str] = []
    args: dict[str, str] = {}
    start = 0
    for position, name in _markers(text):
        pieces.append(text[start:position])
        start = position + 1 + len(name)
        if as_literals:
            pieces.append(literal(value(name, f":{name}")))
        else:
            args[name] = value(name, f":{name}")
            pieces.append(f":{name}")
    pieces.append(text[start:])
    return "".join(pieces), args


def literal(value: str) -> str:
    """A Spark SQL string literal of `value`."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1], flags=re.DOTALL)


def _get_argument(match: re.Match[str], widgets: Widgets) -> str:
    name = _unquote(match.group(1))
    default = _unquote(match.group(2)) if match.group(2) else None
    found = widgets.getArgument(name, default)
    return "NULL" if found is None else literal(found)


def _markers(text: str) -> Iterator[tuple[int, str]]:
    """(position, name) of each `:name` marker outside quotes and comments; `a:b` and `x::t` are not markers."""
    position = 0
    while position < len(text):
        char = text[position]
        if char in "'\"`":
            position = _after_quoted(text, position)
        elif text.startswith("--", position):
            end = text.find("\n", position)
            position = len(text) if end < 0 else end
        elif text.startswith("/*", position):
            position = _after_block_comment(text, position)
        elif char == ":" and (match := _MARKER.match(text, position)):
            before = text[position - 1] if position else " "
            if not (before.isalnum() or before in "_:)]`\"'"):
                yield position, match.group(1)
            position = match.end()
        else:
            position += 1


def _widget_statement(body: str, spark: Any, widgets: Widgets, notebook: str) -> None:
    body = body.strip()
    if match := _REMOVE.fullmatch(body):
        widgets.remove(match.group(1).strip("`"))
        return
    match = _CREATE.fullmatch(body)
    if not match:
        raise SqlWidgetError(f"Notebook '{notebook}': cannot read `{body}`. {_SYNTAX}")
    kind, name, default, choices = match.groups()
    name, default = name.strip("`"), _unquote(default) if default else ""
    if kind.upper() == "TEXT":
        widgets.text(name, default)
        return
    if not choices:
        raise SqlWidgetError(
            f"Notebook '{notebook}': widget '{name}' needs its choices: `CREATE WIDGET {kind.upper()} {name} "
            f"DEFAULT '{default}' CHOICES SELECT …`."
        )
    values = [str(row[0]) for row in spark.sql(choices).collect()]
    getattr(widgets, kind.lower())(name, default, values)
