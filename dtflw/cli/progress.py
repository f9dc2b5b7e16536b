"""Live progress of a flow on the terminal: one line per notebook event and a closing summary."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TextIO

import click

from dtflw.core.paths import project_relative_path
from dtflw.events import FlowListener, FlowRun, NotebookRun, RunStatus

_STYLE = {
    RunStatus.RUNNING: ("▶", "cyan", "running"),
    RunStatus.SUCCEEDED: ("✔", "green", "done"),
    RunStatus.SKIPPED: ("⏭", "yellow", "skipped"),
    RunStatus.FAILED: ("✖", "red", "failed"),
    RunStatus.CANCELLED: ("⊘", "magenta", "cancelled"),
}
SUMMARY_TITLE = "dtflw run summary"


class Terminal:
    """Where a person reads the run (stderr): coloured when it is a terminal, unless `NO_COLOR` is set or
    `TERM=dumb`; `FORCE_COLOR` colours a pipe too (the conventions of no-color.org and force-color.org)."""

    def __init__(self, stream: TextIO, environ: Mapping[str, str]) -> None:
        self.stream = stream
        if environ.get("FORCE_COLOR"):
            self.colour = True
        else:
            self.colour = stream.isatty() and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"

    def paint(self, text: str, colour: str | None = None, *, bold: bool = False, dim: bool = False) -> str:
        return click.style(text, fg=colour, bold=bold or None, dim=dim or None) if self.colour else text

    def write(self, text: str) -> None:
        """`text` and a line end, in one write (lines of parallel notebooks never interleave)."""
        self.stream.write(f"{text}\n")
        self.stream.flush()


class ProgressPrinter(FlowListener):
    """Prints each notebook as it starts and ends, and keeps the runs for a summary."""

    def __init__(self, terminal: Terminal) -> None:
        self._terminal = terminal
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
        head = self._terminal.paint(f"{mark} {word:<8}", colour)
        self._terminal.write(f"{head} {run.notebook_path}{duration}{why}{error}")

    def on_notebook_start(self, flow: FlowRun, run: NotebookRun) -> None:
        with self._lock:
            self._line(run)

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        with self._lock:
            self.runs.append(run)
            self._line(run)

    def summary(self) -> list[str]:
        """The lines of a table of the notebook runs, none if none ran: one row per notebook and status
        (`done ×40` for a notebook run 40 times), with their total duration and the outputs of the last.
        Columns are as wide as their widest cell: a name is never cut, a row never wraps."""
        if not self.runs:
            return []
        groups: dict[tuple[str, RunStatus], list[NotebookRun]] = {}
        for run in self.runs:
            groups.setdefault((project_relative_path(run.notebook_path), run.status), []).append(run)
        rows = [("notebook", "status", "duration", "outputs")]
        colours: list[str | None] = [None]
        for (name, status), runs in groups.items():
            durations = [r.duration for r in runs if r.duration is not None]
            outputs = ", ".join(
                _label(o.alias or o.name, o.state.version_label if o.state else "") for o in runs[-1].outputs
            )
            times = f" ×{len(runs)}" if len(runs) > 1 else ""
            rows.append((name, _STYLE[status][2] + times, f"{sum(durations):.2f}s" if durations else "", outputs))
            colours.append(_STYLE[status][1])
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [self._terminal.paint(SUMMARY_TITLE, bold=True)]
        for row, colour in zip(rows, colours):
            cells = (
                row[0].ljust(widths[0]),
                self._terminal.paint(row[1].ljust(widths[1]), colour),
                row[2].rjust(widths[2]),
            )
            lines.append("  ".join((*cells, row[3])).rstrip())
        return lines


def _label(name: str, version: str) -> str:
    return f"{name} {version}" if version else name
