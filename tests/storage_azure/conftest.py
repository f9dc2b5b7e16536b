"""Fixtures for Azure storage tests: one in-memory Azurite for the session, a fresh container per test."""

from __future__ import annotations

import pytest
from testkit import azure_storage

from dtflw.storage.azure import AzureStorage
from storage_azure.azurite import ACCOUNT, KEY, Azurite, missing_reason


@pytest.fixture(scope="session")
def azurite():
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = Azurite().start()
    yield server
    server.stop()


@pytest.fixture
def container(azurite) -> str:
    return azurite.create_container()


@pytest.fixture
def container_client(azurite, container):
    return azurite.container_client(container)


@pytest.fixture
def storage(azurite, container) -> AzureStorage:
    """A wasbs-style storage (as dtflw 0.6) on a fresh container, fast retries."""
    return azure_storage(
        ACCOUNT, container, "analysis", connection_string=azurite.connection_string, retries=1, retry_backoff=0.05
    )


@pytest.fixture
def delta_options(azurite) -> dict[str, str]:
    """delta-rs storage options for `az://<container>/…` on this Azurite."""
    return {
        "account_name": ACCOUNT,
        "account_key": KEY,
        "allow_http": "true",
        "azure_storage_endpoint": azurite.endpoint,
    }


@pytest.fixture(scope="module")
def sail_azure_session(engine, azurite):
    """A Sail session that reads and writes `abfss://` on the session Azurite: the engine is handed the
    storage's credentials as a flow's storage hands them (into Sail's own process, never this one's)."""
    engine.add_credentials(
        azure_storage(ACCOUNT, "sail", connection_string=azurite.connection_string).sail_environment()
    )
    session = engine.new_session()
    yield session
    session.stop()
