"""A storage that stops answering while a notebook reads it through Sail: a typed error naming the account and path."""

from __future__ import annotations

import pytest

from dtflw.errors import NotebookFailedError, StorageUnavailableError
from dtflw.storage.azure import AzureStorage
from storage_azure.azurite import ACCOUNT, Azurite, missing_reason

pytestmark = pytest.mark.azurite

READ = """
n = spark.read.parquet(dbutils.widgets.get("T_in")).count()
dbutils.notebook.exit(str(n))
"""


@pytest.fixture
def own_azurite(tmp_path, monkeypatch):
    """An Azurite of its own (it is stopped by the test), Sail pointed at it through its environment."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = Azurite(location=str(tmp_path / "azurite")).start()
    container = server.create_container()
    for key, value in (
        AzureStorage(ACCOUNT, container, connection_string=server.connection_string).sail_environment().items()
    ):
        monkeypatch.setenv(key, value)
    yield server, container
    server.stop()


def test_a_storage_that_stops_answering_is_a_storage_unavailable_error_naming_account_and_path(own_azurite, workspace):
    azurite, container = own_azurite
    table = f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/analysis/T.parquet"
    session = workspace.local.engine.new_session()
    session.range(3).write.parquet(table)
    session.stop()
    workspace.write("p/read.py", READ)
    assert workspace.run("p/read.py", {"T_in": table}) == "3"

    azurite.stop()
    with pytest.raises(StorageUnavailableError) as caught:
        workspace.run("p/read.py", {"T_in": table})
    error = caught.value
    assert isinstance(error, NotebookFailedError) and error.notebook_path.endswith("/p/read")
    message = str(error)
    assert f"'{ACCOUNT}'" in message and table in message and "Connection refused" in message
    assert "did not answer" in message and "cell 1" in message
