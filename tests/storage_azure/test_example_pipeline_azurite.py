"""The example pipeline with its storage on Azurite (`abfss://`): the same tables as on a local folder."""

from __future__ import annotations

import json
import os

import pytest
from chispa import assert_df_equality
from test_example_pipeline import GOLD, REPO, SAMPLE, run_pipeline

from dtflw.local.workspace import LocalSettings, LocalWorkspace
from dtflw.storage import from_url
from storage_azure.azurite import ACCOUNT

pytestmark = [pytest.mark.azurite, pytest.mark.slow]


@pytest.fixture
def azure_env(azurite, monkeypatch):
    """Credentials as a user sets them; whatever the run adds to the environment is undone after."""
    saved = dict(os.environ)
    os.environ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.connection_string
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_the_example_pipeline_runs_on_azurite_and_matches_the_local_run(tmp_path, engine, spark, azurite, azure_env):
    container = azurite.create_container()
    client = azurite.container_client(container)
    for csv in SAMPLE.iterdir():
        client.upload_blob(f"raw/{csv.name}", csv.read_bytes())
    url = f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/"
    workspace = LocalWorkspace(
        str(REPO), engine, LocalSettings(user="tester", storage_url=url, dbfs_folder=str(tmp_path / "dbfs"))
    )
    summary = json.loads(workspace.run_file(str(REPO / "notebooks" / "main.py")))

    storage = from_url(url)
    assert "AZURE_STORAGE_ACCOUNT_KEY" not in os.environ  # the engine got the credentials in its own process
    spark = engine.new_session()  # a session on the server that can reach the storage
    local_summary, local_storage = run_pipeline(tmp_path, engine)
    for table in GOLD:
        on_azure = summary["tables"][table]
        assert on_azure.startswith(f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/notebooks/")
        state = storage.table_state(on_azure)
        assert state.exists, f"{table} is complete on Azurite"
        azure_df = spark.read.format(state.format).load(on_azure)
        local_df = spark.read.format(state.format).load(local_summary["tables"][table])
        assert_df_equality(azure_df, local_df, ignore_row_order=True, ignore_nullable=True)
    assert storage.table_state(summary["tables"]["SalesLines"]).version == 0
