"""Fixtures of the databricks-connect suite: a Sail server of the main environment, a fake workspace.

These tests run in an environment of their own, with databricks-connect and without pyspark
(`make test-databricks`); elsewhere they skip, saying so.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from fake_workspace import FakeWorkspace
from sail_server import SAIL_SERVER, main_python


@pytest.fixture(scope="session")
def sail_url():
    """A Sail Spark Connect server on 127.0.0.1, run by the main environment's Python (pysail and a
    pyspark 4.2 server side: databricks-connect's own pyspark fork cannot serve Sail)."""
    python = main_python()
    if not os.path.exists(python):
        pytest.skip(f"no main environment at {python} to run a Sail server: run `make setup` first")
    server = subprocess.Popen(
        [python, "-c", SAIL_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = server.stdout.readline().strip()
    if not url.startswith("sc://"):
        server.kill()
        pytest.fail(f"the Sail server did not start (printed {url!r})")
    yield url
    server.stdin.close()
    server.wait(timeout=30)


@pytest.fixture
def workspace_api(monkeypatch, tmp_path):
    """A fake workspace REST API; the environment configures databricks-sdk for it (and nothing else:
    no ~/.databrickscfg, no compute)."""
    fake = FakeWorkspace()
    host = fake.start()
    for name in list(os.environ):
        if name.startswith("DATABRICKS_") or name == "SPARK_REMOTE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    monkeypatch.setenv("DATABRICKS_HOST", host)
    monkeypatch.setenv("DATABRICKS_TOKEN", fake.token)
    yield fake
    fake.stop()
