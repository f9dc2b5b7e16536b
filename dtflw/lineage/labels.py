"""Short human texts for times, durations, sizes and versions, shared by the exporters."""

from __future__ import annotations

from datetime import datetime, timezone


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
