"""Shared fixtures: one in-process Sail engine for the session, and local workspaces of notebooks."""

from __future__ import annotations

import pytest
from testkit import Decisions, RecordingRunner, notebook_source

from dtflw.core.options import RunOptions
from dtflw.engines import create_engine
from dtflw.runtime import Runtime, activated


@pytest.fixture(scope="session")
def engine():
    with create_engine("sail") as sail:
        yield sail


@pytest.fixture(scope="session")
def spark(engine):
    return engine.session


class Workspace:
    """A folder of notebooks plus a LocalWorkspace running them with storage and DBFS in tmp."""

    def __init__(self, root, engine, *, secrets_file=None, environ=None, **options):
        """`options`: RunOptions fields (`listeners=`, `force_lazy=`, `select=`…)."""
        from dtflw.local.workspace import LocalSettings, LocalWorkspace
        from dtflw.session.local import LocalSession

        self.root = root
        self.storage_folder = root.parent / "storage"
        self.dbfs_folder = root.parent / "dbfs"
        settings = LocalSettings(
            user="tester@example.com",
            storage_url="file://" + str(self.storage_folder),
            dbfs_folder=str(self.dbfs_folder),
            unity_folder=str(root.parent / "unity-catalog"),
            secrets_file=secrets_file,
            environ=environ,
        )
        self.local = LocalWorkspace(str(root), engine, settings, RunOptions(**options))
        self.session = LocalSession(engine, self.local)

    def write(self, rel_path: str, *cells: str) -> str:
        path = self.root / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(notebook_source(*cells))
        return str(path)

    def run(self, rel_path: str, arguments=None, timeout_seconds=0):
        return self.session.run_file(str(self.root / rel_path), arguments or {}, timeout_seconds)


@pytest.fixture
def workspace(tmp_path, engine):
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace(root, engine)


@pytest.fixture
def make_workspace(tmp_path, engine):
    def make(**kwargs):
        root = tmp_path / "ws"
        root.mkdir(exist_ok=True)
        return Workspace(root, engine, **kwargs)

    return make


@pytest.fixture
def decisions():
    return Decisions()


@pytest.fixture
def chain_workspace(make_workspace, decisions):
    """A workspace of a chain: notebooks `p/a`, `p/b`, `p/c` of one `produce` source and the orchestration
    `p/main` of `pipeline`, with `decisions` recording why each step ran or was skipped."""

    def make(produce: str, pipeline: str):
        workspace = make_workspace(listeners=[decisions])
        for name in "abc":
            workspace.write(f"p/{name}.py", produce)
        workspace.write("p/main.py", pipeline)
        return workspace

    return make


@pytest.fixture
def runtime_at():
    """Activate a runtime for a notebook at a workspace path, with a recording runner."""

    def make(notebook_path="/Users/a@b.c/project/main", runner=None, **kwargs):
        runtime = Runtime(
            dbutils=None,
            spark=None,
            notebook_path=notebook_path,
            user="a@b.c",
            runner=runner or RecordingRunner(),
            is_local=True,
            **kwargs,
        )
        return activated(runtime)

    return make


@pytest.fixture(autouse=True)
def _quiet_cwd(tmp_path, monkeypatch):
    """Run every test from a temporary folder so `.dtflw/` defaults land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DTFLW_STORAGE", raising=False)
