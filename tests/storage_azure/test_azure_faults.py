"""Azurite stopped mid-run: bounded retries, then StorageUnavailableError; nothing half-written counts as done."""

from __future__ import annotations

import io
import logging
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from testkit import azure_storage

from dtflw.errors import StorageUnavailableError
from storage_azure.azurite import ACCOUNT, KEY, Azurite, missing_reason

pytestmark = pytest.mark.azurite


@pytest.fixture
def restartable_azurite(tmp_path):
    """An Azurite of its own, keeping its data on disk so it can be stopped and started again."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = Azurite(location=str(tmp_path / "azurite")).start()
    yield server
    server.stop()


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2]}), buffer)
    return buffer.getvalue()


def test_stopped_service_bounded_retries_then_typed_error(restartable_azurite, caplog):
    azurite = restartable_azurite
    container = azurite.create_container()
    storage = azure_storage(
        ACCOUNT, container, "analysis", connection_string=azurite.connection_string, retries=2, retry_backoff=0.05
    )
    client = azurite.container_client(container)
    commit = '{"commitInfo": {"operation": "CREATE TABLE"}}\n'
    client.upload_blob("analysis/T.delta/part-0.parquet", parquet_bytes())
    client.upload_blob("analysis/T.delta/_delta_log/00000000000000000000.json", commit.encode())
    storage.write_text("runs/r1.json", '{"state": "running"}')
    # A writer uploaded the data of version 1 and the first files of a new table, then the service went away.
    client.upload_blob("analysis/T.delta/part-1.parquet", parquet_bytes())
    client.upload_blob("analysis/New.parquet/_temporary/0/part-0.parquet", parquet_bytes())
    azurite.stop()

    caplog.set_level(logging.INFO, logger="azure.core.pipeline.policies.http_logging_policy")
    caplog.clear()
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as caught:
        storage.exists("analysis/T.delta")
    elapsed = time.monotonic() - started
    message = str(caught.value)
    for part in (f"'{ACCOUNT}'", f"'{container}'", storage.base_path + "analysis/T.delta", "after 2 retries"):
        assert part in message
    attempts = [r for r in caplog.records if "Request URL" in r.getMessage()]
    assert len(attempts) == 3 and all("comp=" in r.getMessage() for r in attempts)  # a listing tried 1 + 2 times
    assert elapsed < 5
    for call in (
        lambda: storage.table_state("analysis/T.delta"),
        lambda: storage.read_text("runs/r1.json"),
        lambda: storage.write_text("runs/r1.json", '{"state": "done"}'),
        lambda: storage.list("analysis/*.delta"),
        lambda: storage.delete("runs/r1.json"),
    ):
        with pytest.raises(StorageUnavailableError, match=container):
            call()

    azurite.start()
    assert storage.read_text("runs/r1.json") == '{"state": "running"}'  # the failed write left the record whole
    state = storage.table_state("analysis/T.delta")
    assert (state.exists, state.version, state.last_operation) == (True, 0, "CREATE TABLE")
    assert not storage.exists("analysis/New.parquet")
    assert storage.table_state("analysis/New.parquet").exists is False


def test_unreachable_from_the_start_names_the_endpoint(tmp_path):
    storage = azure_storage(
        ACCOUNT, "raw", account_key=KEY, endpoint="http://127.0.0.1:9/devstoreaccount1", retries=1, retry_backoff=0.01
    )
    with pytest.raises(StorageUnavailableError, match=r"http://127\.0\.0\.1:9/devstoreaccount1 is reachable"):
        storage.list("x/*.csv")
