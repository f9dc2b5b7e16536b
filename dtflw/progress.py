"""Live progress of a flow on the terminal: one line per notebook event and a closing summary."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text

from dtflw.events import FlowListener, FlowRun, NotebookRun, RunStatus
from dtflw.runtime import project_relative_path

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_STYLE = {
    RunStatus.RUNNING: ("▶", "cyan", "running"),
    RunStatus.SUCCEEDED: ("✔", "green", "done"),
    RunStatus.SKIPPED: ("⏭", "yellow", "skipped"),
    RunStatus.FAILED: ("✖", "red", "failed"),
    RunStatus.CANCELLED: ("⊘", "magenta", "cancelled"),
}


class ProgressPrinter(FlowListener):
    """Prints each notebook as it starts and ends, and keeps the runs for a summary."""

    def __init__(self, console: Console) -> None:
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
        error = f"\n    {run.error}" if run.error else ""
        error += "".join(f"\n    ⚠ expectation {r.describe()}" for r in run.expectations if not r.ok and not run.error)
        head = f"{mark} {word:<8}"
        if self._console.color_system:
            # rich types `color_system` as its ColorSystem enum, and renders with the system's name too
            head = Style.parse(colour).render(head, color_system=self._console.color_system)  # type: ignore[arg-type]
        self._console.file.write(f"{head} {run.notebook_path}{duration}{why}{error}\n")  # one cheap write a line

    def on_notebook_start(self, flow: FlowRun, run: NotebookRun) -> None:
        with self._lock:
            self._line(run)

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        with self._lock:
            self.runs.append(run)
            self._line(run)

    def summary(self) -> Table:
        """A rich table of the notebook runs: one row per notebook and status (`done ×40` for a notebook
        run 40 times), with their total duration and the outputs of the last."""
        from rich.table import Table

        rows: dict[tuple[str, RunStatus], list[NotebookRun]] = {}
        for run in self.runs:
            rows.setdefault((project_relative_path(run.notebook_path), run.status), []).append(run)
        table = Table(title="dtflw run summary")
        table.add_column("notebook", no_wrap=True, min_width=max((len(n) for n, _ in rows), default=8))  # never cut
        table.add_column("status", no_wrap=True, min_width=9)
        table.add_column("duration", no_wrap=True, min_width=8)
        table.add_column("outputs", overflow="fold", min_width=16)
        for (name, status), runs in rows.items():
            _, colour, word = _STYLE[status]
            durations = [r.duration for r in runs if r.duration is not None]
            duration = f"{sum(durations):.2f}s" if durations else ""
            outputs = ", ".join(
                f"{o.alias or o.name} {o.state.version_label if o.state else ''}" for o in runs[-1].outputs
            )
            times = f" ×{len(runs)}" if len(runs) > 1 else ""
            table.add_row(name, Text(word + times, style=colour), duration, outputs)
        return table
