"""Helpers shared by tests: notebook sources and a runner that records its calls."""

from __future__ import annotations

import textwrap

from dtflw.events import FlowListener

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


class Decisions(FlowListener):
    """Records each notebook run a flow ends; `take()` gives why each ran or was skipped, by notebook name."""

    def __init__(self):
        self.runs = []

    def on_notebook_end(self, flow, run):
        self.runs.append(run)

    def take(self):
        """`{notebook name: (status, reason)}` of the runs since the last call."""
        seen = {r.notebook_path.rsplit("/", 1)[-1]: (r.status.value, r.reason) for r in self.runs}
        self.runs = []
        return seen


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


def azure_storage(account: str, container: str, root_dir: str = "", *args, **options):
    """An `AzureStorage` as `init_storage` builds it from keywords (`connection_string=`, `retries=`, …), with
    no credential from this process's environment unless `environ=` is given."""
    from dtflw.storage.azure import init_storage

    options.setdefault("environ", {})
    return init_storage(account, container, root_dir, *args, **options)
