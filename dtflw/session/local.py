"""A local session: the Spark engine, the emulated workspace running notebooks on it, and the storage
leases of the run, built once from settings. `dtflw run|plan|check`, the pytest kit and the export's
planning all run notebooks through one."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dtflw.core.options import RunOptions
from dtflw.errors import NotebookFailedError
from dtflw.local.workspace import LocalSettings as LocalSettings  # re-exported: callers build sessions with it
from dtflw.local.workspace import LocalWorkspace

if TYPE_CHECKING:
    from dtflw.engines import Engine
    from dtflw.storage.lease import RunLeases


class SessionEngine(Protocol):
    """What a session runs notebooks on: a Spark engine (`dtflw.engines.Engine`), or the export's offline one."""

    name: str  # "sail", "spark"…, or "offline"

    def preflight(self) -> None: ...

    def new_session(self) -> Any: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: Any) -> Any: ...


@dataclass(frozen=True)
class EngineSettings:
    """Which Spark engine runs the notebooks (`sail`, `spark`, `remote`, `databricks`, or a registered one)."""

    name: str = "sail"
    conf: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold credentials
    url: str | None = field(default=None, repr=False)  # remote/databricks: an sc:// URL (may hold a token)
    profile: str | None = None  # databricks: the ~/.databrickscfg profile
    cluster_id: str | None = None  # databricks: the cluster
    serverless: bool = False  # databricks: serverless compute

    def create(self) -> Engine:
        """The engine, not started (it starts when a notebook first uses Spark)."""
        from dtflw.engines import create_engine

        given = {"profile": self.profile, "cluster_id": self.cluster_id, "serverless": self.serverless}
        options = {name: value for name, value in given.items() if value}  # an engine not on Databricks takes none
        return create_engine(self.name, dict(self.conf), self.url, **options)


class LocalSession:
    """An engine and a workspace of notebooks run on it; `with` it, the engine stops (and the run's storage
    leases are given up) at the end."""

    def __init__(self, engine: SessionEngine, workspace: LocalWorkspace, leases: RunLeases | None = None) -> None:
        self.engine = engine
        self.workspace = workspace
        self._leases = leases
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> LocalSession:
        with contextlib.ExitStack() as stack:  # leases taken are given up if the engine fails to enter
            if self._leases is not None:
                stack.enter_context(self._leases)
            stack.enter_context(self.engine)
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.__exit__(*exc)

    def run_file(
        self, file_path: str, arguments: Mapping[str, str] | None = None, timeout_seconds: int = 0
    ) -> str | None:
        """Run a notebook or pipeline file as the top-level notebook; returns its exit value.

        With `select`/`exclude` the notebook is planned first (running nothing), and its real run skips the
        steps left out. With a planner (`dtflw plan`) the steps are collected and nothing runs."""
        workspace, options = self.workspace, self.workspace.options
        arguments = dict(arguments or {})
        if options.planner is not None or not (options.select or options.exclude):
            exit_value: str | None = workspace.run_file(file_path, arguments, timeout_seconds)
            return exit_value
        from dtflw.run.planning import Planner

        planner = Planner(select=options.select, exclude=options.exclude)
        try:
            workspace.run_file(file_path, arguments, timeout_seconds, planner=planner)
        except NotebookFailedError as e:
            raise NotebookFailedError(
                f"Planning for --select/--exclude failed: {e} While planning no notebook runs and every "
                "`.run()` returns the exit value kept at the step's last run, or None if none was; let the "
                "orchestration code allow that, or run without a selection.",
                notebook_path=workspace.workspace_path(file_path),
            ) from e
        exit_value = workspace.run_file(file_path, arguments, timeout_seconds, selection=planner.selection())
        return exit_value


def open_local_session(
    workspace_root: str,
    engine: SessionEngine | EngineSettings,
    settings: LocalSettings | None = None,
    options: RunOptions | None = None,
    *,
    lease_wait: float | None = None,
) -> LocalSession:
    """A session running the notebooks under `workspace_root` (mapped to `/Users/<user>`) on `engine` (an
    `Engine`, or `EngineSettings` to build one). With `lease_wait` (`dtflw run`), each storage a flow opens is
    leased for the run, waiting up to that many seconds for another run to give it up."""
    if isinstance(engine, EngineSettings):
        engine = engine.create()
    options = options or RunOptions()
    leases = None
    if lease_wait is not None:
        from dtflw.events import new_run_id
        from dtflw.lineage.abandoned import close_abandoned_runs
        from dtflw.storage.lease import RunLeases

        leases = options.leases = RunLeases(new_run_id(), lease_wait, on_abandoned=close_abandoned_runs)
    return LocalSession(engine, LocalWorkspace(workspace_root, engine, settings, options), leases)
