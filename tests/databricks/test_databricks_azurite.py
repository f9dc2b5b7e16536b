"""The example pipeline through databricks-connect with its storage on Azurite (`abfss://`): the same
tables as a plain Sail run on a local folder. The Sail server gets the Azure credentials in its own
environment, as compute gets them from its configuration; this process only from the storage URL's
connection string."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

pytest.importorskip(
    "databricks.connect",
    reason="databricks-connect is not installed in this environment; the databricks suite runs in its own "
    "environment: `make test-databricks`",
)

from chispa import assert_df_equality  # noqa: E402
from sail_server import REPO, SAIL_SERVER, main_python, plain_sail_run  # noqa: E402
from storage_azure.azurite import ACCOUNT, Azurite, missing_reason  # noqa: E402
from testkit import azure_storage

from dtflw.engines import create_engine  # noqa: E402
from dtflw.local.workspace import LocalSettings, LocalWorkspace  # noqa: E402
from dtflw.storage import from_url  # noqa: E402

pytestmark = [pytest.mark.azurite, pytest.mark.slow]
TABLES = ["SalesLines", "ProductRevenue", "RegionRevenue", "ShippingDelays", "KpiReport", "MonthlyRevenue"]


@pytest.fixture(scope="module")
def azurite():
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = Azurite().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sail_with_azure(azurite):
    """A Sail server (main environment) holding the Azurite credentials in its own environment."""
    secrets = azure_storage(ACCOUNT, "sail", connection_string=azurite.connection_string).sail_environment()
    server = subprocess.Popen(
        [main_python(), "-c", SAIL_SERVER],
        env={**os.environ, **secrets},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = server.stdout.readline().strip()
    assert url.startswith("sc://"), url
    yield url
    server.stdin.close()
    server.wait(timeout=30)


def test_the_example_pipeline_on_azurite_through_databricks_connect(azurite, sail_with_azure, tmp_path, monkeypatch):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none"))
    container = azurite.create_container()
    client = azurite.container_client(container)
    for csv in (REPO / "notebooks" / "data" / "sample").iterdir():
        client.upload_blob(f"raw/{csv.name}", csv.read_bytes())
    url = f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/"
    saved = dict(os.environ)
    os.environ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.connection_string  # as a user sets it
    try:
        plain = plain_sail_run(tmp_path / "plain")
        with create_engine("databricks", url=sail_with_azure) as engine:
            workspace = LocalWorkspace(
                str(REPO), engine, LocalSettings(user="u@x.y", storage_url=url, dbfs_folder=str(tmp_path / "d"))
            )
            summary = json.loads(workspace.run_file(str(REPO / "notebooks" / "main.py")))
            storage = from_url(url)
            spark = engine.session
            for table in TABLES:
                on_azure = summary["tables"][table]
                assert on_azure.startswith(f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/notebooks/")
                state = storage.table_state(on_azure)
                assert state.exists, f"{table} is complete on Azurite"
                assert_df_equality(
                    spark.read.format(state.format).load(on_azure),
                    spark.read.format(state.format).load(plain[table]),
                    ignore_row_order=True,
                    ignore_nullable=True,
                )
    finally:
        os.environ.clear()
        os.environ.update(saved)
