"""The widget contract between a step and its notebook: every value a string; an argument per
arg, `<T>_in` per input and `<T>_out` per output, holding the table's path as the engine reads it."""

from __future__ import annotations

import datetime
import decimal
import pathlib
from collections.abc import Callable
from typing import Any

from dtflw.errors import ArgumentError

INPUT_SUFFIX = "_in"
OUTPUT_SUFFIX = "_out"
JOB_WIDGET = "dtflw_job"  # the widget a task of an exported job is told its identity in
_STRINGABLE = (str, int, float, decimal.Decimal, datetime.date, datetime.time, pathlib.PurePath)


def job_widget_value(widgets: Any) -> str:
    """What the `dtflw_job` widget says: "" where the notebook has none (it is no task of an exported job)."""
    try:
        return str(widgets.get(JOB_WIDGET))
    except Exception:  # no such widget (a cluster's dbutils raises its own error)
        return ""


def as_widget_value(notebook: str, name: object, value: object) -> str:
    """An argument's value as the widget string the notebook reads; typed error if it has none."""
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


def widget_map(
    notebook: str,
    args: dict[str, str],
    inputs: dict[str, str],
    outputs: dict[str, str],
    engine_path: Callable[[str], str],
) -> dict[str, str]:
    """The widgets of one call; a widget name that two of them would share is an `ArgumentError`."""
    widgets: dict[str, str] = {}
    kinds: dict[str, str] = {}
    entries = [(n, v, "argument") for n, v in args.items()]
    entries += [(n + INPUT_SUFFIX, engine_path(p) if p else "", "input") for n, p in inputs.items()]
    entries += [(n + OUTPUT_SUFFIX, engine_path(p), "output") for n, p in outputs.items()]
    for widget, value, kind in entries:
        if widget in widgets:
            raise ArgumentError(
                f"Notebook '{notebook}': widget '{widget}' is both an {kinds[widget]} and an {kind}; "
                "rename the argument or the table."
            )
        widgets[widget] = value
        kinds[widget] = kind
    return widgets
