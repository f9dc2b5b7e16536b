"""Short human texts for times, durations, sizes and versions, shared by the exporters."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from dtflw.events import NotebookRun
    from dtflw.lineage.graph import LineageGraph, NotebookNode, TableNode


@overload
def iso_time(seconds: float) -> str: ...
@overload
def iso_time(seconds: float | None) -> str | None: ...


def iso_time(seconds: float | None) -> str | None:
    """An ISO-8601 UTC time with milliseconds, e.g. `2025-01-15T10:32:07.512Z`."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def rows_text(rows: int | None) -> str:
    return "" if rows is None else f"{rows:,} rows"


# fill and stroke colours of notebook nodes by the status of their latest run, and of table nodes
STATUS_COLOURS = {
    "succeeded": ("#d7f5dd", "#2e7d32"),
    "failed": ("#fde0e0", "#c62828"),
    "skipped": ("#ececec", "#757575"),
    "running": ("#dceefe", "#1565c0"),
    "cancelled": ("#fff0d9", "#e65100"),
}
TABLE_COLOURS = ("#fff6d9", "#a07800")
STATUS_SYMBOLS = {"succeeded": "✓", "failed": "✗", "skipped": "↷", "running": "…", "cancelled": "⊘"}


def notebook_caption(graph: LineageGraph, notebook: NotebookNode) -> tuple[str, str]:
    """(status of its latest run, one-line detail such as `✓ succeeded · 1.2 s`) of a notebook node."""
    run = graph.latest_run(notebook.path)
    assert run is not None  # a notebook is in the graph because it ran
    return run_caption(run)


def run_caption(run: NotebookRun) -> tuple[str, str]:
    """(status, one-line detail such as `✓ succeeded · 1.2 s`) of a notebook run."""
    status = run.status.value
    detail = f"{STATUS_SYMBOLS[status]} {status}"
    if run.duration is not None and status != "skipped":
        detail += f" · {duration_text(run.duration)}"
    return status, detail


def table_caption(graph: LineageGraph, table: TableNode) -> str:
    """A one-line detail of a table node, such as `delta · v3 · 1,234 rows`."""
    seen = graph.latest_seen(table.path)
    parts = [table.format, seen.version, rows_text(seen.use.row_count)] if seen is not None else [table.format]
    return " · ".join(p for p in parts if p)


def unique_labels(items: list[tuple[str, str]]) -> list[str]:
    """Labels for (label, path) pairs, told apart where two paths share a label: each of those becomes the
    shortest end of its path that no other path of that label shares (`a/ingest`, `b/ingest`)."""
    paths_of: dict[str, set[str]] = {}
    for label, path in items:
        paths_of.setdefault(label, set()).add(path)
    labels = []
    for label, path in items:
        others = paths_of[label] - {path}
        if not others:
            labels.append(label)
            continue
        parts = path.rstrip("/").split("/")
        for k in range(1, len(parts) + 1):
            suffix = "/".join(parts[-k:])
            if not any(("/" + other.rstrip("/")).endswith("/" + suffix) for other in others):
                break
        labels.append(suffix)
    return labels
