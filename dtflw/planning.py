"""`dtflw plan`: every step an orchestration notebook would run, as a DAG in levels, with resolved
paths and what a lazy run would do — without running any notebook."""

from __future__ import annotations

from dtflw.dag import Dag


class Planner:
    """Collects the steps of every flow opened while an orchestration notebook is planned."""

    def __init__(self, lazy: bool = False):
        self.lazy = lazy
        self.dags: list[Dag] = []

    def collector_for(self, ctx) -> Dag:
        dag = Dag(ctx, planning=True)
        self.dags.append(dag)
        return dag

    def render(self) -> str:
        """The plan as text: levels of steps; per step its args, tables and lazy decision."""
        lines: list[str] = []
        for number, dag in enumerate(self.dags, 1):
            plan = dag.plan()
            lines.append(f"Flow {number} on {dag.ctx.storage.url}: {len(plan.steps)} notebook(s)")
            will_run: set[int] = set()
            for depth, level in enumerate(plan.levels(), 1):
                lines.append(f"  level {depth}")
                for step in level:
                    lines += ["    " + line for line in self._describe(step, plan, will_run)]
        return "\n".join(lines) if lines else "No flow was opened: nothing to run."

    def _describe(self, step, plan, will_run: set[int]) -> list[str]:
        nb = step.notebook
        upstream = sorted(plan.steps[d].name for d in step.deps if d in will_run)
        if not (step.is_lazy or self.lazy):
            verdict, runs = "runs: not lazy", True
        elif upstream:
            verdict, runs = "runs: upstream " + ", ".join(upstream) + " runs first", True
        else:
            skip, reason = nb.lazy_decision()
            verdict, runs = ("skips: " if skip else "runs: ") + reason, not skip
        if runs:
            will_run.add(step.index)
        lines = [f"{nb.abs_path}  [{verdict}]"]
        lines += [f"  arg    {k} = {v}" for k, v in nb.redacted_args().items()]
        lines += [f"  input  {n} ← {i.abs_file_path or '(optional, absent)'}" for n, i in nb.get_inputs().items()]
        lines += [f"  output {o.alias} → {o.abs_file_path}" for o in nb.get_outputs().values()]
        if step.deps:
            lines.append("  after  " + ", ".join(sorted(plan.steps[d].name for d in step.deps)))
        return lines
