"""`dtflw check`: the declared expectations of a planned flow, evaluated against the tables there now,
without running a notebook (after a manual fix, or in CI against a staging storage)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dtflw.errors import ExpectationError
from dtflw.expectations.spec import ExpectationResult
from dtflw.run.expectations import evaluate_step

if TYPE_CHECKING:
    from dtflw.core.step import LazyNotebook
    from dtflw.run.dag import Plan


@dataclass
class CheckReport:
    """Per table checked: its results; tables absent or whose expectations could not be evaluated."""

    results: list[ExpectationResult] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No blocking expectation failed, and every table was there and could be checked."""
        return not self.missing and not self.errors and not any(r.blocking_failure for r in self.results)

    def lines(self) -> list[str]:
        marks = {True: "✔", False: "⚠"}
        found = [f"{'✖' if r.blocking_failure else marks[r.ok]} {r.describe()}" for r in self.results]
        found += [f"✖ {m}" for m in self.missing] + [f"✖ {e}" for e in self.errors]
        return found or ["No expectations declared: nothing to check."]


def check_planned(plans: Iterable[Plan]) -> CheckReport:
    """Evaluate the expectations of every step of `plans` (from `Planner.plans()`) on the tables now."""
    report = CheckReport()
    for plan in plans:
        for planned in plan.steps:
            _check_step(planned.notebook, report)
    return report


def _check_step(step: LazyNotebook, report: CheckReport) -> None:
    storage = step.ctx.storage
    outputs = {n: o for n, o in step.get_outputs().items() if o.expectations}
    absent = [n for n, o in outputs.items() if not storage.table_state(o.abs_file_path).exists]
    report.missing += [
        f"{n}: no complete table at '{outputs[n].abs_file_path}' (of notebook '{step.abs_path}')" for n in absent
    ]
    if len(absent) == len(outputs):
        return
    try:
        results = evaluate_step(step, only=set(outputs) - set(absent))
    except ExpectationError as e:
        report.errors.append(str(e))
        return
    report.results += results
