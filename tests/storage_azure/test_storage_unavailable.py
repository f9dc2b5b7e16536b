"""A storage that stops answering while a notebook reads it through Sail: a typed error naming the account and path."""

from __future__ import annotations

import pytest
from testkit import azure_storage

from dtflw.errors import NotebookFailedError, StorageUnavailableError
from storage_azure.azurite import ACCOUNT, Azurite, missing_reason

pytestmark = pytest.mark.azurite

READ = """
n = spark.read.parquet(dbutils.widgets.get("T_in")).count()
dbutils.notebook.exit(str(n))
"""


@pytest.fixture
def own_azurite(tmp_path, monkeypatch, engine):
    """An Azurite of its own (it is stopped by the test); the engine is given its credentials, as a storage
    gives them (the Sail server then reaches it), and so is this process (for storages it opens)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = Azurite(location=str(tmp_path / "azurite")).start()
    container = server.create_container()
    environment = azure_storage(ACCOUNT, container, connection_string=server.connection_string).sail_environment()
    engine.add_credentials(environment)
    for key, value in environment.items():
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


@pytest.mark.slow
def test_the_deadline_for_a_frozen_service_is_an_option_of_the_storage_url(own_azurite, monkeypatch):
    """A frozen service accepts connections and never answers; `?timeout=&retries=` bound the wait."""
    import signal
    import time

    from dtflw.storage import from_url

    azurite, container = own_azurite
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    url = f"abfss://{container}@{ACCOUNT}.dfs.core.windows.net/analysis?timeout=1&retries=1&retry_backoff=0.1"
    storage = from_url(url)
    assert not storage.exists("T.parquet")
    azurite._process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError, match=container):
            storage.exists("T.parquet")
        assert time.monotonic() - started < 10, "2 attempts of 1 s, not 4 of 30 s"
    finally:
        azurite._process.send_signal(signal.SIGCONT)


@pytest.mark.parametrize("query", ["timeout=0", "timeout=x", "retries=-1", "retries=1.5"])
def test_a_bad_deadline_option_is_a_storage_error(query):
    from dtflw.errors import StorageError
    from dtflw.storage import from_url

    with pytest.raises(StorageError, match="must be"):
        from_url(f"abfss://c0ntainer@{ACCOUNT}.dfs.core.windows.net/x?{query}")
