"""Running notebooks in-process with the local Databricks runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dtflw.local.workspace import LocalWorkspace


class LocalRunner:
    """Runs notebooks of a `LocalWorkspace`, resolving relative paths against the calling notebook."""

    def __init__(self, workspace: LocalWorkspace, caller_path: str):
        self._workspace = workspace
        self._caller = caller_path

    def run(
        self,
        path: str,
        timeout_seconds: int,
        arguments: dict[str, str],
        *,
        run_id: str | None = None,
    ) -> str | None:
        return self._workspace.run(path, arguments, timeout_seconds, caller=self._caller, run_id=run_id)

    def source_fingerprint(self, path: str) -> str | None:
        """A hash of the notebook's source and of the notebooks it includes with `%run`."""
        return self._workspace.source_fingerprint(path, caller=self._caller)
