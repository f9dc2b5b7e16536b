"""`dtflw plan`: every step an orchestration notebook would run, as a DAG in levels, with resolved
paths and what a lazy run would do — without running any notebook."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dtflw.expectations.spec import age_text
from dtflw.run.dag import Dag, Plan, Step
from dtflw.run.selection import Selection, chosen_steps
from dtflw.run.task import StepTask

if TYPE_CHECKING:
    from dtflw.core.context import FlowContext


class Planner:
    """Collects the steps of every flow opened while an orchestration notebook is planned."""

    def __init__(
        self,
        lazy: bool = False,
        select: str | None = None,
        exclude: str | None = None,
        planned_result: Callable[[int, int, str], Any] | None = None,
    ) -> None:
        self.lazy = lazy
        self.select = select
        self.exclude = exclude
        self.dags: list[Dag] = []
        self._planned_result = planned_result  # (flow number, step index, step name) → what `.run()` returns

    def collector_for(self, ctx: FlowContext) -> Dag:
        result = self._planned_result
        number = len(self.dags)
        dag = Dag(ctx, planning=True, planned_result=(lambda i, name: result(number, i, name)) if result else None)
        self.dags.append(dag)
        return dag

    @property
    def declared(self) -> int:
        """Steps declared so far, in every flow."""
        return sum(len(dag.steps) for dag in self.dags)

    def render(self) -> str:
        """The plan as text: levels of steps; per step its args, tables and lazy decision."""
        lines: list[str] = []
        plans = self.plans()
        chosen_per_plan = chosen_steps(plans, self.select, self.exclude)
        for number, (dag, plan, chosen) in enumerate(zip(self.dags, plans, chosen_per_plan), 1):
            lines.append(f"Flow {number} on {dag.ctx.storage.url}: {len(plan.steps)} notebook(s)")
            will_run: set[int] = set()
            for depth, level in enumerate(plan.levels(), 1):
                lines.append(f"  level {depth}")
                for step in level:
                    lines += ["    " + line for line in self._describe(step, plan, will_run, step.index in chosen)]
        return "\n".join(lines) if lines else "No flow was opened: nothing to run."

    def plans(self) -> list[Plan]:
        """The plan of every flow opened, in order."""
        return [dag.plan() for dag in self.dags]

    def selection(self) -> Selection:
        """The steps `select`/`exclude` leave in, for the real run of the planned notebook."""
        return Selection(self.plans(), self.select, self.exclude)

    def _describe(self, step: Step, plan: Plan, will_run: set[int], chosen: bool) -> list[str]:
        nb = step.notebook
        upstream = sorted(plan.steps[d].name for d in step.deps if d in will_run)
        if not chosen:
            verdict, runs = "skips: not selected", False
        elif not (step.is_lazy or self.lazy):
            verdict, runs = "runs: not lazy", True
        elif upstream:
            verdict, runs = (
                f"runs: upstream {', '.join(upstream)} {'runs' if len(upstream) == 1 else 'run'} first",
                True,
            )
        else:
            skip, reason = StepTask(nb).lazy_decision()
            verdict, runs = ("skips: " if skip else "runs: ") + reason, not skip
        if runs:
            will_run.add(step.index)
        named = f" (step '{nb.get_step_name()}')" if nb.get_step_name() else ""
        lines = [f"{nb.abs_path}{named}  [{verdict}]"]
        lines += [f"  arg    {k} = {v}" for k, v in nb.redacted_args().items()]
        lines += [f"  input  {n} ← {i.abs_file_path or '(optional, absent)'}" for n, i in nb.get_inputs().items()]
        lines += [f"  output {o.alias} → {o.abs_file_path}" for o in nb.get_outputs().values()]
        lines += [
            f"  expect {o.alias}.{e.name}: {e.expression} ({e.action})"
            for o in nb.get_outputs().values()
            for e in o.expectations
        ]
        lines += [f"  fresh  {n} within {age_text(i.max_age)}" for n, i in nb.get_inputs().items() if i.max_age]
        if step.deps:
            lines.append("  after  " + ", ".join(sorted(plan.steps[d].name for d in step.deps)))
        return lines
