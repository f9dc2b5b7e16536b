"""The example pipeline through a real databricks-connect DatabricksSession (against a local Sail
server) gives the same tables as a plain Sail run of `dtflw run` in the main environment."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

pytest.importorskip(
    "databricks.connect",
    reason="databricks-connect is not installed in this environment; the databricks suite runs in its own "
    "environment: `make test-databricks`",
)

from chispa import assert_df_equality  # noqa: E402
from sail_server import REPO, plain_sail_run  # noqa: E402

from dtflw.engines import create_engine  # noqa: E402
from dtflw.local.workspace import LocalSettings, LocalWorkspace  # noqa: E402
from dtflw.storage.local import LocalStorage  # noqa: E402

SAMPLE = REPO / "notebooks" / "data" / "sample"
TABLES = [
    "SalesLines",
    "ProductRevenue",
    "RegionRevenue",
    "ShippingDelays",
    "KpiReport",
    "MonthlyRevenue",
    "CustomerSegments",
]

pytestmark = pytest.mark.slow


def test_the_example_pipeline_on_databricks_connect_equals_a_plain_sail_run(sail_url, tmp_path, monkeypatch):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none"))
    bridged = tmp_path / "bridged"
    shutil.copytree(SAMPLE, bridged / "raw")
    plain_tables = plain_sail_run(tmp_path / "plain")
    plain = tmp_path / "plain" / "storage"

    engine = create_engine("databricks", url=sail_url)
    with engine:
        workspace = LocalWorkspace(
            str(REPO), engine, LocalSettings(user="u@x.y", storage_url=str(bridged), dbfs_folder=str(tmp_path / "dbfs"))
        )
        summary = json.loads(workspace.run_file(str(REPO / "notebooks" / "main.py"), {"year": "2024"}))
        spark = engine.session
        assert type(spark).__module__ == "pyspark.sql.connect.session"
        for table in TABLES:
            path, plain_path = summary["tables"][table], plain_tables[table]
            assert path == plain_path.replace(str(plain), str(bridged))
            fmt = LocalStorage(str(bridged)).table_state(path).format
            assert_df_equality(
                spark.read.format(fmt).load(path),
                spark.read.format(fmt).load(plain_path),
                ignore_row_order=True,
                ignore_nullable=True,
            )
        assert summary["runs"]["silver/build_sales"]["SalesOrderItems"] == 85


def test_the_user_example_tests_pass_unchanged_through_databricks_connect(sail_url, tmp_path):
    """notebooks/tests runs on Sail in CI; here the same file runs with `--dtflw-engine databricks`."""
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(REPO / "notebooks" / "tests"), "-p", "no:cacheprovider"]
        + ["--dtflw-engine", "databricks", "--dtflw-remote-url", sail_url, "--rootdir", str(REPO)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "dtflw engine: databricks" in run.stdout and "3 passed" in run.stdout
