"""S3 (moto server) and GCS (fake-gcs-server): existence and table state from one listing, documents,
globs, and the lease built on conditional writes — each test runs against both."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest

from dtflw.errors import StorageBusyError
from dtflw.storage import from_url
from dtflw.storage.gcs import GcsStorage
from dtflw.storage.lease import LEASE_FILE, lease_for
from dtflw.storage.s3 import S3Credentials, S3Storage


def parquet_bytes(rows: int = 10) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(rows))}), buffer)
    return buffer.getvalue()


def requests_of(cloud, action):
    """The result of `action()` and the requests the server received meanwhile."""
    before = len(cloud.server.settled_requests())
    result = action()
    return result, cloud.server.settled_requests()[before:]


def write_delta(cloud, table: str, versions: int = 2) -> None:
    import pandas as pd
    from deltalake import write_deltalake

    for version in range(versions):
        frame = pd.DataFrame({"id": range(version, version + 5)})
        write_deltalake(
            f"{cloud.scheme}://{cloud.bucket}/{table}", frame, mode="overwrite", storage_options=cloud.delta_options()
        )


def test_each_existence_check_costs_one_request_and_tells_complete_from_unfinished(cloud):
    storage = cloud.storage()
    cloud.put("analysis/nb/P.parquet/part-00000.parquet", parquet_bytes())
    cloud.put("analysis/nb/P.parquet/_SUCCESS", b"")
    cloud.put("analysis/nb/P.parquet-old/part-00000.parquet", parquet_bytes())  # a sibling sorted before it
    cloud.put("analysis/nb/U.parquet/part-00000.parquet#1", b"half")  # Sail had not renamed it yet
    cloud.put("analysis/nb/E.delta/_delta_log/00000000000000000000.json.tmp", b"{}")
    write_delta(cloud, "analysis/nb/D.delta")

    expected = {"nb/P.parquet": True, "nb/D.delta": True, "nb/U.parquet": False, "nb/E.delta": False}
    expected["nb/Missing.parquet"] = False
    for table, exists in expected.items():
        found, requests = requests_of(cloud, lambda t=table: storage.exists(storage.get_path_in_root_dir(t)))
        assert found is exists, table
        assert len(requests) == 1, f"{table}: {requests}"

    delta = storage.table_state("analysis/nb/D.delta")
    assert (delta.exists, delta.format, delta.version) == (True, "delta", 1)
    assert delta.table_id and delta.last_operation
    parquet = storage.table_state("analysis/nb/P.parquet")
    assert (parquet.exists, parquet.format, parquet.file_count) == (True, "parquet", 1)
    unfinished = storage.table_state("analysis/nb/U.parquet")
    assert not unfinished.exists


def test_a_listing_of_many_pages_still_finds_a_table_after_them(cloud):
    storage = cloud.storage(page_size=2)
    for i in range(3):
        cloud.put(f"analysis/T.parquet-{i}/part-0.parquet", b"x")  # siblings filling the first pages
    cloud.put("analysis/T.parquet/part-0.parquet", parquet_bytes())
    assert storage.exists("analysis/T.parquet")
    assert not storage.exists("analysis/T.parque")
    assert [i.name for i in storage.list_dir("analysis")][:2] == ["T.parquet-0/", "T.parquet-1/"]
    assert len(storage.list_dir("analysis")) == 4


def test_documents_globs_and_deletes(cloud):
    storage = cloud.storage()
    assert storage.read_text("analysis/_dtflw/state.json") is None
    storage.write_text("analysis/_dtflw/state.json", json.dumps({"v": 1}))
    assert json.loads(storage.read_text("analysis/_dtflw/state.json")) == {"v": 1}
    for name in ("2024-01", "2024-02", "2023-12"):
        cloud.put(f"analysis/raw/orders_{name}.csv", b"id\n1\n")
    base = storage.base_path
    assert storage.list("analysis/raw/orders_2024-*.csv") == [
        f"{base}analysis/raw/orders_2024-01.csv",
        f"{base}analysis/raw/orders_2024-02.csv",
    ]
    assert storage.list("analysis/raw/orders_2023-12.csv") == [f"{base}analysis/raw/orders_2023-12.csv"]
    assert storage.list("analysis/raw/nothing.csv") == []
    assert [i.name for i in storage.list_dir("analysis")] == ["_dtflw/", "raw/"]
    storage.delete("analysis/raw")
    assert cloud.object_names() == ["analysis/_dtflw/state.json"]


def test_a_storage_url_names_the_bucket_and_keeps_no_secret(cloud, monkeypatch):
    for key, value in cloud.server.environ.items():
        monkeypatch.setenv(key, value)
    storage = from_url(f"{cloud.scheme}://{cloud.bucket}/team/analysis?format=delta&timeout=5&retries=0")
    assert isinstance(storage, S3Storage if cloud.scheme == "s3" else GcsStorage)
    assert (storage.url, storage.root_dir, storage.table_format) == (
        f"{cloud.scheme}://{cloud.bucket}/team/analysis",
        "team/analysis",
        "delta",
    )
    assert from_url(storage.url).url == storage.url
    assert storage.get_abs_path("team/x.parquet") == f"{cloud.scheme}://{cloud.bucket}/team/x.parquet"
    assert "moto-secret" not in repr(storage) + repr(storage.fs) + repr(storage.engine_environment())


@pytest.mark.s3
def test_s3a_paths_of_the_bucket_are_the_same_objects(moto_s3):
    storage = S3Storage(moto_s3.create_bucket(), "r", credentials=S3Credentials(environ=moto_s3.environ))
    path = f"s3a://{storage.bucket}/r/T.parquet"
    assert storage.get_abs_path(path) == f"s3://{storage.bucket}/r/T.parquet"


# -- the lease ------------------------------------------------------------------------------------------


def test_the_lease_is_exclusive_and_names_its_holder(cloud):
    storage = cloud.storage()
    with lease_for(storage, "run-one").held(), pytest.raises(StorageBusyError, match="run run-one"):
        lease_for(cloud.storage(), "run-two").held(wait=0.3)
    with lease_for(cloud.storage(), "run-two").held():  # released: free for the next run
        pass
    assert cloud.object_names() == []


@pytest.mark.parametrize("document", ["expired", "garbage"])
def test_an_expired_or_corrupt_lease_is_taken_over(cloud, document):
    lease_key = f"analysis/{LEASE_FILE}"
    if document == "expired":  # its holder died 20 s ago without releasing it
        fields = {"host": "gone", "pid": 1, "run_id": "dead-run", "since": time.time() - 60}
        cloud.put(lease_key, json.dumps({**fields, "expires": time.time() - 20}).encode())
    else:
        cloud.put(lease_key, b"\x00not json")
    lease = lease_for(cloud.storage(), "run-new").held()
    try:
        with pytest.raises(StorageBusyError, match="run-new"):
            lease_for(cloud.storage(), "run-other").held()
    finally:
        lease.release()


def test_of_two_runs_taking_over_an_expired_lease_at_once_only_one_wins(cloud):
    fields = {"host": "gone", "pid": 1, "run_id": "dead-run", "since": 0, "expires": 1}
    cloud.put(f"analysis/{LEASE_FILE}", json.dumps(fields).encode())
    outcomes: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def take(run_id):
        lease = lease_for(cloud.storage(), run_id)
        barrier.wait()
        try:
            outcomes[run_id] = lease.held()
        except StorageBusyError as e:
            outcomes[run_id] = e

    threads = [threading.Thread(target=take, args=(f"run-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [lease for lease in outcomes.values() if not isinstance(lease, Exception)]
    assert len(winners) == 1, outcomes
    winners[0].release()


def test_a_held_lease_is_renewed_so_it_never_expires_under_its_holder(cloud, monkeypatch):
    monkeypatch.setattr("dtflw.storage.lease.LEASE_SECONDS", 0.9)  # renewed every 0.3 s
    lease = lease_for(cloud.storage(), "run-long").held()
    try:
        time.sleep(1.5)  # longer than the lease lasts without renewals
        with pytest.raises(StorageBusyError, match="run-long"):
            lease_for(cloud.storage(), "run-other").held()
    finally:
        lease.release()


@pytest.mark.s3  # fake-gcs-server ignores a DELETE's generation precondition; S3 (moto) honours If-Match
def test_a_holder_whose_lease_was_taken_over_does_not_release_the_new_holders_lease(moto_s3):
    from storage_cloud.conftest import Cloud

    cloud = Cloud("s3", moto_s3, moto_s3.create_bucket())
    first = lease_for(cloud.storage(), "run-stalled").held()
    fields = {"host": "h", "pid": 1, "run_id": "run-stalled", "since": 0, "expires": 1}
    cloud.put(f"analysis/{LEASE_FILE}", json.dumps(fields).encode())  # its renewals missed for too long
    second = lease_for(cloud.storage(), "run-next").held()
    first.release()  # must leave run-next's lease alone
    try:
        with pytest.raises(StorageBusyError, match="run-next"):
            lease_for(cloud.storage(), "run-third").held()
    finally:
        second.release()
