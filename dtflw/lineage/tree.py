"""A text tree of a lineage graph for a terminal: flow runs, their notebook runs, tables read and written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dtflw.events import FlowRun, NotebookRun, RunStatus
from dtflw.lineage.graph import Edge, LineageGraph
from dtflw.lineage.labels import STATUS_SYMBOLS, duration_text, iso_time, rows_text

if TYPE_CHECKING:
    from dtflw.expectations.spec import ExpectationResult

_BRANCH, _LAST, _PIPE, _SPACE = "├── ", "└── ", "│   ", "    "


def show_tree(graph: LineageGraph, select: str | None = None) -> str:
    """Each flow run (newest last) with its notebook runs and their inputs (←) and outputs (→)."""
    if select:
        graph = graph.select(select)
    runs_of_flow: dict[str, list[NotebookRun]] = {}
    for run in graph.runs.values():
        runs_of_flow.setdefault(run.flow_run_id, []).append(run)
    nested: dict[str, list[FlowRun]] = {}
    top = []
    for flow in graph.flows.values():
        if flow.parent_run_id in graph.runs:
            nested.setdefault(flow.parent_run_id, []).append(flow)
        else:
            top.append(flow)
    lines: list[str] = []

    def add_flow(flow: FlowRun, prefix: str, branch: str, follow: str) -> None:
        lines.append(prefix + branch + _flow_line(flow))
        runs = runs_of_flow.get(flow.run_id, [])
        for i, run in enumerate(runs):
            last = i == len(runs) - 1
            add_run(run, prefix + follow, _LAST if last else _BRANCH, _SPACE if last else _PIPE)

    def add_run(run: NotebookRun, prefix: str, branch: str, follow: str) -> None:
        lines.append(prefix + branch + _run_line(run))
        details = [f"error: {_one_line(run.error)}"] if run.error else []
        details += [_use_line("←", e) for e in graph.inputs_of(run.run_id)]
        details += [_use_line("→", e) for e in graph.outputs_of(run.run_id)]
        details += [_expectation_line(r) for r in run.expectations]
        children = nested.get(run.run_id, [])
        for i, detail in enumerate(details):
            last = i == len(details) - 1 and not children
            lines.append(prefix + follow + (_LAST if last else _BRANCH) + detail)
        for i, flow in enumerate(children):
            last = i == len(children) - 1
            add_flow(flow, prefix + follow, _LAST if last else _BRANCH, _SPACE if last else _PIPE)

    for flow in top:
        add_flow(flow, "", "", "")
    for problem in graph.problems:
        lines.append(f"! {problem}")
    return "\n".join(lines) + "\n" if lines else "No lineage recorded.\n"


def _flow_line(flow: FlowRun) -> str:
    parts = [f"flow run {flow.run_id}", flow.notebook_path or "(no notebook)", iso_time(flow.started)]
    if flow.status != RunStatus.RUNNING:
        parts.append(flow.status.value)
    if flow.ended is not None:
        parts.append(duration_text(flow.ended - flow.started))
    return " · ".join(parts)


def _run_line(run: NotebookRun) -> str:
    status = run.status.value
    parts = [f"{STATUS_SYMBOLS[status]} {run.rel_path or run.notebook_path}", status]
    if run.status == RunStatus.SKIPPED and run.reason:
        parts[-1] = f"skipped: {run.reason}"
    elif run.duration is not None:
        parts.append(duration_text(run.duration))
    if run.attempt != 1:
        parts.append(f"attempt {run.attempt}")
    if run.args:
        parts.append("args: " + ", ".join(f"{k}={_one_line(v)}" for k, v in run.args.items()))
    return " · ".join(parts)


def _use_line(arrow: str, edge: Edge) -> str:
    use, state = edge.use, edge.use.state
    facts = ", ".join(
        f for f in (use.format or (state.format if state else None), edge.version, rows_text(use.row_count)) if f
    )
    alias = f" as {use.alias}" if use.alias and use.alias != use.name else ""
    return f"{arrow} {use.name}{alias}  {edge.table}" + (f"  ({facts})" if facts else "")


def _expectation_line(result: ExpectationResult) -> str:
    mark = "✔" if result.ok else ("✖" if result.action == "fail" else "⚠")
    return f"{mark} expect {_one_line(result.describe())}"


def _one_line(text: str | None, limit: int = 200) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
