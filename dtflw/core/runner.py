"""The runner protocol: how a flow invokes one notebook (a cluster's `dbutils.notebook.run`, the
local runtime, a Jobs API submission…). Hand a flow another one with `init_flow(runner=...)`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Runner(Protocol):
    """Runs a notebook to its end and returns the value it passed to `dbutils.notebook.exit`."""

    def run(
        self,
        path: str,
        timeout_seconds: int,
        arguments: dict[str, str],
        *,
        run_id: str | None = None,
    ) -> str | None:
        """`path` as the step gave it (relative to the calling notebook, as `dbutils.notebook.run`
        takes it); `arguments` the widgets; `run_id` the dtflw run id of this call, for the callee's
        nested flows. A runner may also be `CallerBound` or a `SourceFingerprinter` (below)."""


@runtime_checkable
class CallerBound(Protocol):
    """A runner that needs absolute paths: `init_flow` tells it the notebook opening the flow."""

    def bind_caller(self, notebook_path: str) -> None: ...


@runtime_checkable
class SourceFingerprinter(Protocol):
    """A runner that can read the notebooks it runs: lazy runs then see edits of their source."""

    def source_fingerprint(self, rel_path: str) -> str | None: ...


def source_fingerprint(runner: object, rel_path: str) -> str | None:
    """The fingerprint of the source of the notebook at `rel_path`, if `runner` can read it; else None."""
    return runner.source_fingerprint(rel_path) if isinstance(runner, SourceFingerprinter) else None
