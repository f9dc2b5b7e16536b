"""Which steps run: `select=`/`exclude=` of a DAG, and `dtflw run --select/--exclude` over a whole
orchestration notebook, eager `.run()` calls and DAG steps alike.

Terms are those of lineage selection (`nb`, `T`, `+T`, `T+`, `tag:x`, unions). An eager flow has no
graph before it runs, so `dtflw run --select` first plans the notebook as `dtflw plan` does (running
nothing), picks steps on that graph, then runs it for real, skipping the steps left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dtflw.core.paths import project_relative_path
from dtflw.errors import SelectionError
from dtflw.selection import VALID_FORMS, Term, matches, parse

if TYPE_CHECKING:
    from dtflw.core.step import LazyNotebook
    from dtflw.run.dag import Plan, Step

StepKey = tuple[str, tuple[str, ...]]  # a notebook's path and its output paths


def chosen_steps(plans: Sequence[Plan], select: str | None, exclude: str | None) -> list[set[int]]:
    """Per plan, the indices of the steps `select` (default: all) picks, minus those `exclude` picks."""
    chosen = _pick(plans, select) if select else [{s.index for s in plan.steps} for plan in plans]
    if exclude:
        chosen = [c - x for c, x in zip(chosen, _pick(plans, exclude))]
    return chosen


def _pick(plans: Sequence[Plan], expr: str) -> list[set[int]]:
    picked: list[set[int]] = [set() for _ in plans]
    for term in parse(expr):
        matched = False
        for plan, chosen in zip(plans, picked):
            found = {s.index for s in plan.steps if _matches(s, term)}
            matched = matched or bool(found)
            chosen |= found
            if found and term.upstream:
                chosen |= plan.upstream(found)
            if found and term.downstream:
                chosen |= plan.downstream(found)
        if not matched:
            raise SelectionError(
                f"{term.value!r} in {expr!r} matches no notebook or table; valid forms: {VALID_FORMS}."
            )
    return picked


def _matches(step: Step, term: Term) -> bool:
    nb = step.notebook
    if term.method == "tag":
        return matches(term.value, nb.get_tags())
    names = {nb.rel_path, nb.abs_path, project_relative_path(nb.abs_path), nb.abs_path.rsplit("/", 1)[-1]}
    return matches(term.value, names | step.tables())


def step_key(notebook: LazyNotebook) -> StepKey:
    """What identifies a step between the planning and the real run: its notebook and output paths."""
    return notebook.abs_path, tuple(sorted(o.abs_file_path for o in notebook.get_outputs().values()))


class Selection:
    """The steps of an orchestration notebook that `dtflw run --select/--exclude` runs."""

    def __init__(self, plans: Sequence[Plan], select: str | None, exclude: str | None) -> None:
        self._chosen: set[tuple[StepKey, int]] = set()
        seen: dict[StepKey, int] = {}
        for plan, chosen in zip(plans, chosen_steps(plans, select, exclude)):
            for step in plan.steps:
                key = step_key(step.notebook)
                seen[key] = seen.get(key, 0) + 1
                if step.index in chosen:
                    self._chosen.add((key, seen[key]))
        self._seen: dict[StepKey, int] = {}

    def includes(self, notebook: LazyNotebook) -> bool:
        """Whether the next declared step calling `notebook` runs (steps are matched in declaration
        order, so a notebook called twice is told apart)."""
        key = step_key(notebook)
        self._seen[key] = self._seen.get(key, 0) + 1
        return (key, self._seen[key]) in self._chosen
