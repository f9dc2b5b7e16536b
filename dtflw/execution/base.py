"""The runner protocol: run one notebook with string arguments and return its exit value."""

from __future__ import annotations

from typing import Protocol


class Runner(Protocol):
    """Invokes a notebook. `path` is as given by the caller (relative paths resolve against it)."""

    def run(
        self, path: str, timeout_seconds: int, arguments: dict[str, str], *, run_id: str | None = None
    ) -> str | None:
        """Run the notebook to its end; return the value it passed to `dbutils.notebook.exit`.

        `run_id` is the dtflw run id of this call, for the callee's nested flows.
        """
