"""Helpers shared by tests: notebook sources and a runner that records its calls."""

from __future__ import annotations

import textwrap

HEADER = "# Databricks notebook source\n"
SEPARATOR = "\n# COMMAND ----------\n\n"


def notebook_source(*cells: str) -> str:
    """A Databricks source notebook of the given python cells."""
    return HEADER + SEPARATOR.join(textwrap.dedent(c).strip() + "\n" for c in cells)


class RecordingRunner:
    """A runner that records calls and returns a fixed exit value (for builder-only tests)."""

    def __init__(self, result="ok", action=None):
        self.calls = []
        self.result = result
        self.action = action

    def run(self, path, timeout_seconds, arguments, *, run_id=None):
        self.calls.append((path, timeout_seconds, dict(arguments)))
        if self.action:
            self.action(path, arguments)
        return self.result


LONG_SPARK_QUERY = "spark.range(0, 10**12).selectExpr('sum(id % 7)').collect()  # hours of work"


def notebook_thread_ends(notebook_path: str, within: float = 15.0) -> bool:
    """Whether the thread running `notebook_path` (abandoned after a timeout) ends within `within` s."""
    import threading
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(t.name == f"notebook {notebook_path}" for t in threading.enumerate()):
            return True
        time.sleep(0.1)
    return False
