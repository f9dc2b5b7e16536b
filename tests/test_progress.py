"""What `dtflw run` prints while it runs: a line per notebook event, a summary that never cuts a name, colour
only where a person reads a terminal."""

from __future__ import annotations

import io

import click

from dtflw.cli.progress import ProgressPrinter, Terminal
from dtflw.events import FlowRun, NotebookRun, RunStatus, TableUse
from dtflw.storage.tables import TableState

FLOW = FlowRun("f1", "/Users/u/p/main", "file:///s", "")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(path: str, status: RunStatus, seconds: float, *outputs: TableUse, reason: str | None = None) -> NotebookRun:
    run = NotebookRun("r", FLOW.run_id, path, path.rsplit("/", 1)[-1], {}, [], list(outputs), started=100.0)
    run.status, run.ended, run.reason = status, 100.0 + seconds, reason
    return run


def _printed(printer: ProgressPrinter, *runs: NotebookRun) -> None:
    for run in runs:
        printer.on_notebook_end(FLOW, run)


def test_the_summary_aligns_its_columns_counts_repeated_runs_and_cuts_no_name():
    stream = io.StringIO()
    printer = ProgressPrinter(Terminal(stream, {}))
    long_name = "/Users/u/p/a_notebook_with_a_rather_long_name_that_must_not_be_cut_" + "x" * 120
    delta = TableState("/s/t", True, format="delta", version=3)
    _printed(
        printer,
        _run(
            "/Users/u/p/ingest", RunStatus.SKIPPED, 0.004, TableUse("Orders", "/s/o", state=delta), reason="up to date"
        ),
        _run("/Users/u/p/callee", RunStatus.SUCCEEDED, 1.0),
        _run("/Users/u/p/callee", RunStatus.SUCCEEDED, 2.5, TableUse("Out", "/s/x", alias="Alias")),
        _run(long_name, RunStatus.FAILED, 12.0),
    )

    title, header, *rows = printer.summary()

    assert title == "dtflw run summary"
    assert header.split() == ["notebook", "status", "duration", "outputs"]
    assert rows[0].split() == ["p/ingest", "skipped", "0.00s", "Orders", "v3"]
    assert rows[1].split() == ["p/callee", "done", "×2", "3.50s", "Alias"]  # the outputs of the last run
    assert rows[2].split() == [long_name.removeprefix("/Users/u/"), "failed", "12.00s"]
    status_column = {line.index(word) for line, word in zip([header, *rows], ["status", "skipped", "done", "failed"])}
    duration_ends = {line.index(d) + len(d) for line, d in zip(rows, ["0.00s", "3.50s", "12.00s"])}
    assert len(status_column) == 1 and len(duration_ends) == 1, printer.summary()
    assert "\x1b[" not in stream.getvalue() + "".join(printer.summary())


def test_no_run_no_summary():
    assert ProgressPrinter(Terminal(io.StringIO(), {})).summary() == []


def test_each_event_is_one_line_with_why_it_was_skipped():
    stream = io.StringIO()
    _printed(ProgressPrinter(Terminal(stream, {})), _run("/Users/u/p/nb", RunStatus.SKIPPED, 0.01, reason="up to date"))

    assert stream.getvalue() == "⏭ skipped  /Users/u/p/nb 0.01s (up to date)\n"


def test_colour_on_a_terminal_unless_no_color_or_a_dumb_one_and_on_a_pipe_when_forced():
    assert Terminal(_Tty(), {}).colour
    assert not Terminal(_Tty(), {"NO_COLOR": "1"}).colour
    assert not Terminal(_Tty(), {"TERM": "dumb"}).colour
    assert not Terminal(io.StringIO(), {}).colour
    assert Terminal(io.StringIO(), {"FORCE_COLOR": "1"}).colour


def test_a_coloured_summary_keeps_its_columns_aligned():
    printer = ProgressPrinter(Terminal(_Tty(), {}))
    _printed(printer, _run("/Users/u/p/a", RunStatus.SUCCEEDED, 1.0), _run("/Users/u/p/bb", RunStatus.CANCELLED, 2.0))

    lines = printer.summary()

    assert click.style("done     ", fg="green") in lines[2] and click.style("cancelled", fg="magenta") in lines[3]
    assert [click.unstyle(line).index("s", 14) for line in lines[2:]] == [click.unstyle(lines[3]).index("s", 14)] * 2
