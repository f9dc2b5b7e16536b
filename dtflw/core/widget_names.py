"""Names that do not match between a caller and its notebook.

Two checks, on the local runtime, whose widgets tell what was passed (a cluster's dbutils does not):
- at the end of a run, an argument passed that the notebook never declared nor read: a warning naming it
  and the closest name the notebook did use (an error under `--strict` and in the pytest kit). Table
  widgets (`<T>_in`, `<T>_out`) and `dtflw_job` count as known: a notebook may leave a table unread.
- when a notebook asks `init_inputs("Trip")` (or `init_outputs`, `init_args`, by name without defaults)
  for a widget its caller did not pass: when the caller passed table widgets (the notebook runs under a
  flow) and a name close to it that the notebook did not ask for, a `WidgetNameError` naming both;
  otherwise a warning, and the widget reads "" as in dtflw 0.6. A notebook run by hand, without table
  widgets, reads "" without a word, as in 0.6.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Collection, Iterable
from collections.abc import Set as AbstractSet
from typing import Protocol

from dtflw.core.widgets import INPUT_SUFFIX, JOB_WIDGET, OUTPUT_SUFFIX
from dtflw.errors import WidgetNameError

log = logging.getLogger("dtflw")


class NamedWidgets(Protocol):
    """A notebook's widgets that tell which were passed and which it asked for (the local runtime's dbutils)."""

    def passed_names(self) -> AbstractSet[str]: ...

    def asked_names(self) -> AbstractSet[str]: ...


_TABLE_SUFFIXES = (INPUT_SUFFIX, OUTPUT_SUFFIX)
_KINDS = {INPUT_SUFFIX: "input", OUTPUT_SUFFIX: "output", "": "argument"}
MISSPELT = 0.8  # difflib's ratio from which a name passed is the one asked, misspelt: Trips/Trip, trips/Trip
# (below it, a warning: run_mode/run_date and input_path/output_path are 0.75, and may well both be meant)


def check_unused_arguments(notebook: str, widgets: NamedWidgets, strict: bool) -> None:
    """Warn of each argument passed to `notebook` that it never declared nor read; raise under `strict`."""
    passed, asked = widgets.passed_names(), widgets.asked_names()
    unused = sorted(n for n in passed - asked if not n.endswith(_TABLE_SUFFIXES) and n != JOB_WIDGET)
    problems = [f'argument "{name}" is passed but never declared nor read{_hint(name, asked)}' for name in unused]
    if not problems:
        return
    message = f"Notebook '{notebook}': " + "; ".join(problems) + "."
    if strict:
        raise WidgetNameError(message + " Pass only names the notebook declares or reads.")
    log.warning("dtflw: %s It has no effect; --strict makes this an error.", message)


def check_asked(notebook: str, widgets: NamedWidgets, suffix: str, names: Collection[str]) -> None:
    """Before `init_inputs(*names)` (suffix `_in`), `init_outputs` (`_out`) or `init_args` (""): each name its
    caller did not pass is an error when the caller passed one `MISSPELT`-close, else a warning (under a flow)."""
    passed, asked = widgets.passed_names(), widgets.asked_names()
    if not any(n.endswith(_TABLE_SUFFIXES) for n in passed):  # run by hand, not by a flow: as in 0.6
        return
    kind = _KINDS[suffix]
    others = {_bare(n, suffix) for n in passed - asked if _of_kind(n, suffix)} - set(names)
    for name in names:
        if name + suffix in passed or name + suffix in asked:
            continue
        close = difflib.get_close_matches(name, sorted(others), n=1, cutoff=MISSPELT)
        if close:
            raise WidgetNameError(
                f"Notebook '{notebook}' asks for {kind} '{name}' (widget '{name + suffix}'), which its caller did not "
                f"pass; it passed {kind} '{close[0]}' (widget '{close[0] + suffix}'). Use one name in the flow and "
                "in the notebook."
            )
        log.warning(
            "dtflw: Notebook '%s' asks for %s '%s' (widget '%s'), which its caller did not pass%s; it reads as \"\".",
            notebook,
            kind,
            name,
            name + suffix,
            _hint(name, others),
        )


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _of_kind(widget: str, suffix: str) -> bool:
    if suffix:
        return widget.endswith(suffix) and len(widget) > len(suffix)
    return not widget.endswith(_TABLE_SUFFIXES) and widget != JOB_WIDGET


def _bare(widget: str, suffix: str) -> str:
    return widget[: len(widget) - len(suffix)]
