"""The `dtflw` pytest plugin (entry point `pytest11`): fixtures to test notebooks with dtflw.

Fixtures: `dtflw` (a `NotebookTester` on a throwaway storage, DBFS root and secrets), `dtflw_spark`,
`dtflw_engine`, `dtflw_storage`, `dtflw_dbfs`, `dtflw_workspace_root`, `dtflw_secrets`.
The engine is chosen once per session: `--dtflw-engine sail|spark|remote|databricks` or
`$DTFLW_TEST_ENGINE` (default `sail`); `remote` takes `--dtflw-remote-url` (or `$SPARK_REMOTE`).
"""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from dtflw.engines import Engine
    from dtflw.testing.harness import NotebookTester

ENGINE_ENV = "DTFLW_TEST_ENGINE"
ENGINE_CHOICES = ("sail", "spark", "remote", "databricks")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dtflw", "dtflw notebook tests")
    group.addoption(
        "--dtflw-engine",
        choices=ENGINE_CHOICES,
        default=None,
        help=f"Spark engine the notebooks run on (default ${ENGINE_ENV}, else sail).",
    )
    group.addoption(
        "--dtflw-remote-url", default=None, help="sc:// URL for --dtflw-engine remote (default $SPARK_REMOTE)."
    )
    group.addoption("--dtflw-profile", default=None, help="~/.databrickscfg profile for --dtflw-engine databricks.")
    group.addoption("--dtflw-cluster-id", default=None, help="Cluster for --dtflw-engine databricks.")
    group.addoption(
        "--dtflw-serverless",
        action="store_true",
        default=False,
        help="Serverless compute for --dtflw-engine databricks.",
    )
    group.addoption(
        "--dtflw-storage",
        default=None,
        help="Base URL of the tests' storages, each test in a folder of its own below it, e.g. dbfs:/tmp/tests "
        "for Databricks compute (default: a local temporary folder).",
    )
    parser.addini("dtflw_workspace_root", "Folder mapped to /Users/<user> (default: the rootdir).", default="")


def engine_name(config: pytest.Config) -> str:
    """The engine of this session: the option, else the environment variable, else sail."""
    name = config.getoption("dtflw_engine") or os.environ.get(ENGINE_ENV) or "sail"
    if name not in ENGINE_CHOICES:
        raise pytest.UsageError(f"${ENGINE_ENV}={name!r} is not an engine; use one of {', '.join(ENGINE_CHOICES)}.")
    return name


def pytest_report_header(config: pytest.Config) -> str:
    return f"dtflw engine: {engine_name(config)}"


@pytest.fixture(scope="session")
def dtflw_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The session's Spark engine (started on first use, stopped at the end of the session)."""
    from dtflw.session.local import EngineSettings

    config = request.config
    settings = EngineSettings(
        engine_name(config),
        url=config.getoption("dtflw_remote_url"),
        profile=config.getoption("dtflw_profile"),
        cluster_id=config.getoption("dtflw_cluster_id"),
        serverless=config.getoption("dtflw_serverless"),
    )
    with settings.create() as engine:
        yield engine


@pytest.fixture(scope="session")
def dtflw_spark(dtflw_engine: Engine) -> Any:
    """The engine's main Spark session."""
    return dtflw_engine.session


@pytest.fixture(scope="session")
def dtflw_workspace_root(request: pytest.FixtureRequest) -> pathlib.Path:
    """The folder of notebooks, mapped to `/Users/<user>` as if imported into the workspace."""
    configured = request.config.getini("dtflw_workspace_root")
    root = pathlib.Path(request.config.rootpath)
    return (root / configured).resolve() if configured else root


@pytest.fixture
def dtflw_state(tmp_path: pathlib.Path) -> pathlib.Path:
    """A throwaway folder for the storage, DBFS root, volumes and secrets of one test."""
    folder = tmp_path / "dtflw"
    folder.mkdir()
    return folder


@pytest.fixture
def dtflw_storage(request: pytest.FixtureRequest, dtflw_state: pathlib.Path) -> str:
    """The URL of a throwaway flow storage: a local folder, or a new folder below `--dtflw-storage`."""
    base = request.config.getoption("dtflw_storage")
    if not base:
        return "file://" + str(dtflw_state / "storage")
    return f"{base.rstrip('/')}/{dtflw_state.parent.name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def dtflw_dbfs(dtflw_state: pathlib.Path) -> pathlib.Path:
    """The local folder standing in for `dbfs:/` in this test."""
    return dtflw_state / "dbfs"


@pytest.fixture
def dtflw_secrets() -> dict[str, dict[str, str]]:
    """`{scope: {key: value}}` answered by `dbutils.secrets` in this test's notebooks; fill it in the test.
    (On the databricks engine with a workspace configured, the notebooks read the workspace's secrets.)"""
    return {}


@pytest.fixture
def dtflw(
    dtflw_engine: Engine,
    dtflw_workspace_root: pathlib.Path,
    dtflw_storage: str,
    dtflw_state: pathlib.Path,
    dtflw_secrets: dict[str, dict[str, str]],
) -> NotebookTester:
    """A `dtflw.testing.NotebookTester`: `run_notebook`, `run_flow`, `put`, `read_table`, `spark`."""
    from dtflw.testing.harness import NotebookTester

    tester = NotebookTester(dtflw_engine, str(dtflw_workspace_root), dtflw_storage, str(dtflw_state))
    tester.secrets = dtflw_secrets  # the same dict: secrets set in the test after this fixture count too
    return tester
