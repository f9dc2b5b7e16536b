"""Issue 18, point 1 on Azure: a blob's time has whole seconds, so an output file written again within
the same second, with the same size, is told from the one before by its ETag (real Azurite)."""

from __future__ import annotations

import pytest

from dtflw.storage.tables import written_between

pytestmark = pytest.mark.azurite


def test_a_blob_written_again_within_its_second_is_a_new_version(storage, container_client):
    name = "analysis/p/report.csv"
    for _ in range(20):  # until both writes fall within one second of the blob's Last-Modified
        container_client.upload_blob(name, b"a,b\n1,2\n", overwrite=True)
        before = storage.table_state(name)
        container_client.upload_blob(name, b"a,b\n1,2\n", overwrite=True)
        after = storage.table_state(name)
        if before.modified_ms == after.modified_ms:
            break
    assert before.modified_ms == after.modified_ms and before.size_bytes == after.size_bytes
    assert written_between(before, after)
    assert not written_between(after, storage.table_state(name))
