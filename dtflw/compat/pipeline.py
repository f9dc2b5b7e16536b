"""The runs a flow has made (0.6 API): `flow.ctx.pipeline.runs`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any


class NotebookRun:
    """A finished notebook run: its path, args, and input and output paths."""

    def __init__(
        self, notebook_path: str, args: dict[str, Any], inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> None:
        self._notebook_path = notebook_path
        self._args = args
        self._inputs = inputs
        self._outputs = outputs

    @property
    def notebook_path(self) -> str:
        return self._notebook_path

    @property
    def args(self) -> dict[str, Any]:
        return self._args

    @property
    def inputs(self) -> dict[str, Any]:
        return self._inputs

    @property
    def outputs(self) -> dict[str, Any]:
        return self._outputs


class PipelineState:
    """The latest run of each notebook, in the order they first ran."""

    def __init__(self) -> None:
        self._runs: dict[str, NotebookRun] = {}
        self._lock = threading.Lock()

    @property
    def runs(self) -> Iterator[NotebookRun]:
        with self._lock:
            return iter(list(self._runs.values()))

    def record_run(self, run: NotebookRun) -> None:
        if run is None:
            raise ValueError("run cannot be None.")
        with self._lock:
            self._runs[run.notebook_path] = run
