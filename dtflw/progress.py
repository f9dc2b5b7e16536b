"""Live progress of a flow on the terminal: one line per notebook event and a closing summary."""

from __future__ import annotations

import threading

from rich.markup import escape

from dtflw.events import FlowListener, FlowRun, NotebookRun, RunStatus
from dtflw.runtime import project_relative_path

_STYLE = {
    RunStatus.RUNNING: ("▶", "cyan", "running"),
    RunStatus.SUCCEEDED: ("✔", "green", "done"),
    RunStatus.SKIPPED: ("⏭", "yellow", "skipped"),
    RunStatus.FAILED: ("✖", "red", "failed"),
    RunStatus.CANCELLED: ("⊘", "magenta", "cancelled"),
}


class ProgressPrinter(FlowListener):
    """Prints each notebook as it starts and ends, and keeps the runs for a summary."""

    def __init__(self, console):
        self._console = console
        self._lock = threading.Lock()
        self.runs: list[NotebookRun] = []
        self.flows: list[FlowRun] = []

    def on_flow_start(self, flow: FlowRun) -> None:
        self.flows.append(flow)

    def lineage_folders(self) -> list[str]:
        """Where the flows' lineage documents are, one line per storage."""
        return list(dict.fromkeys(f.lineage_folder for f in self.flows if f.lineage_folder))

    def _line(self, run: NotebookRun) -> None:
        mark, colour, word = _STYLE[run.status]
        duration = f" {run.duration:.2f}s" if run.duration is not None else ""
        # why it runs is told when it starts; why it was skipped, when it ends
        told = run.status in (RunStatus.RUNNING, RunStatus.SKIPPED)
        why = f" ({run.reason})" if run.reason and told else ""
        error = f"\n    {escape(run.error)}" if run.error else ""
        self._console.print(
            f"[{colour}]{mark} {word:<8}[/] {run.notebook_path}{duration}{why}{error}", highlight=False, soft_wrap=True
        )

    def on_notebook_start(self, flow: FlowRun, run: NotebookRun) -> None:
        with self._lock:
            self._line(run)

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        with self._lock:
            self.runs.append(run)
            self._line(run)

    def summary(self):
        """A rich table of every notebook run."""
        from rich.table import Table

        table = Table(title="dtflw run summary")
        for column in ("notebook", "status", "duration", "outputs"):
            table.add_column(column)
        for run in self.runs:
            _, colour, word = _STYLE[run.status]
            duration = f"{run.duration:.2f}s" if run.duration is not None else ""
            outputs = ", ".join(f"{o.alias or o.name} {o.state.version_label if o.state else ''}" for o in run.outputs)
            table.add_row(project_relative_path(run.notebook_path), f"[{colour}]{word}[/]", duration, outputs)
        return table
