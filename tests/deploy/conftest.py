"""Deploy tests talk to the local Jobs API server only: no Databricks config of this machine is seen."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_databricks_env(monkeypatch):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
