"""AzureStorage against Azurite: listing, texts, table existence and state, globs, request counts, secrets."""

from __future__ import annotations

import io
import logging
import traceback

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake
from testkit import azure_storage

from dtflw.errors import PathOutsideStorageError, StorageCredentialsError, StorageError, StorageUnavailableError
from dtflw.storage.azure import AzureStorage, init_storage
from dtflw.storage.blob import AzureCredentials, BlobFileSystem, RequestPolicy, find_auth
from storage_azure.azurite import ACCOUNT, KEY

pytestmark = pytest.mark.azurite


def parquet_bytes(rows: int = 3) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(rows))}), buffer)
    return buffer.getvalue()


def upload(container_client, name: str, data: bytes = b"x", **kwargs) -> None:
    container_client.upload_blob(name, data, overwrite=True, **kwargs)


def base(storage: AzureStorage) -> str:
    return storage.base_path


# -- listing and texts ---------------------------------------------------------------------------
def test_list_dir_and_list_files(storage, container_client):
    for name in ("raw/a.csv", "raw/b.csv", "raw/sub/c.csv", "raw-old/d.csv", "top.txt"):
        upload(container_client, name)
    root = base(storage)
    assert [(i.name, i.is_dir) for i in storage.list_dir("")] == [
        ("raw-old/", True),
        ("raw/", True),
        ("top.txt", False),
    ]
    assert [i.path for i in storage.list_dir("raw")] == [root + "raw/a.csv", root + "raw/b.csv", root + "raw/sub/"]
    assert [i.path for i in storage.fs.list_files(root + "raw")] == [
        root + "raw/a.csv",
        root + "raw/b.csv",
        root + "raw/sub/c.csv",
    ]
    assert storage.fs.list_files(root + "raw/a.csv")[0].size == 1
    assert storage.list_dir("missing") == []


def test_texts_are_written_read_and_deleted(storage):
    assert storage.read_text("runs/r1.json") is None
    storage.write_text("runs/r1.json", '{"state": "ok", "é": 1}')
    storage.write_text("runs/r1.json", '{"state": "done"}')
    assert storage.read_text("runs/r1.json") == '{"state": "done"}'
    storage.write_text("runs/r2.json", "2")
    storage.delete("runs")
    assert storage.read_text("runs/r1.json") is None and storage.list_dir("runs") == []
    storage.delete("runs")  # missing is fine


def test_adls_gen2_folders_listed_through_the_blob_endpoint(storage, container_client):
    """Hierarchical-namespace accounts list folders as blobs marked `hdi_isfolder`."""
    folder = {"metadata": {"hdi_isfolder": "true"}}
    upload(container_client, "t", b"", **folder)
    upload(container_client, "t/Empty.parquet", b"", **folder)
    upload(container_client, "t/T.parquet", b"", **folder)
    upload(container_client, "t/T.parquet/part-0.parquet", parquet_bytes())
    assert [(i.name, i.is_dir) for i in storage.list_dir("t")] == [("Empty.parquet/", True), ("T.parquet/", True)]
    assert not storage.exists("t/Empty.parquet")
    assert storage.exists("t/T.parquet")
    storage.delete("t")
    assert list(container_client.list_blobs()) == []


# -- table existence -----------------------------------------------------------------------------
def test_parquet_table_completeness(storage, container_client):
    upload(container_client, "t/Data.parquet/part-00000.parquet", parquet_bytes())
    upload(container_client, "t/Empty.parquet/_SUCCESS", b"")
    upload(container_client, "t/Half.parquet/_temporary/0/part-00000.parquet", parquet_bytes())
    upload(container_client, "t/Gone.parquet-old/part-00000.parquet", parquet_bytes())
    upload(container_client, "t/orders.csv", b"id\n1\n")
    upload(container_client, "t/Data.parquet_v2/part-00000.parquet", parquet_bytes())  # sorts after the table
    assert storage.exists("t/Data.parquet")
    assert storage.exists(base(storage) + "t/Data.parquet")
    assert storage.exists(f"abfss://{storage.container_name}@{ACCOUNT}.dfs.core.windows.net/t/Data.parquet")
    assert storage.exists("t/Empty.parquet")  # written by Spark with no rows: _SUCCESS only
    assert not storage.exists("t/Half.parquet")  # a job still writing into _temporary
    assert not storage.exists("t/Gone.parquet")  # a sibling with the same prefix is not the table
    assert not storage.exists("t/Missing.parquet")
    assert storage.exists("t/orders.csv")
    assert not storage.exists("t/orders")
    state = storage.table_state("t/Data.parquet")
    assert (state.exists, state.format, state.file_count, state.version) == (True, "parquet", 1, None)
    assert state.fingerprint


def test_delta_table_version_and_last_operation(storage, delta_options):
    uri = f"az://{storage.container_name}/analysis/T.delta"
    DeltaTable.create(uri, pa.schema([("id", pa.int64())]), storage_options=delta_options)
    state = storage.table_state("analysis/T.delta")
    assert (state.exists, state.format, state.version, state.last_operation) == (True, "delta", 0, "CREATE TABLE")
    write_deltalake(uri, pd.DataFrame({"id": [4]}), mode="append", storage_options=delta_options)
    state = storage.table_state("analysis/T.delta")
    table_id = DeltaTable(uri, storage_options=delta_options).metadata().id
    assert (state.version, state.last_operation, state.table_id) == (1, "WRITE", table_id)
    assert state.fingerprint == f"delta-{table_id}-v1" and state.identity == f"v1 of {table_id}"
    assert state.version == DeltaTable(uri, storage_options=delta_options).version()
    assert storage.exists("analysis/T.delta")
    assert storage.exists(storage.get_abs_path("analysis/T.delta").replace("wasbs://", "wasb://"))


def test_a_table_spread_over_many_pages(azurite, container, container_client):
    """Pages of 2 names: siblings sorting before the table fill the first pages; still found."""
    for name in ("T.parquet-a/x.parquet", "T.parquet-b/x.parquet", "T.parquet.bak", "T.parquet/part-0.parquet"):
        upload(container_client, name, parquet_bytes())
    for i in range(4):
        upload(container_client, f"Big.parquet/part-{i}.parquet", parquet_bytes())
    root = f"wasbs://{container}@{ACCOUNT}.blob.core.windows.net/"
    auth = find_auth(ACCOUNT, AzureCredentials(connection_string=azurite.connection_string))
    fs = BlobFileSystem(auth, container, root, RequestPolicy(page_size=2))
    files, complete = fs.first_files(root + "T.parquet")
    assert [f.name for f in files] == ["part-0.parquet"] and complete
    files, complete = fs.first_files(root + "Big.parquet")
    assert len(files) == 2 and not complete
    assert len(fs.list_files(root + "Big.parquet")) == 4


def test_a_table_whose_first_page_shows_no_data_is_listed_further(azurite, container, container_client):
    for name in ("_committed_1", "_started_1", "_temporary/0/x", "part-0.parquet"):
        upload(container_client, f"T.parquet/{name}", parquet_bytes())
    for name in ("_committed_1", "_started_1", "_temporary/0/x"):
        upload(container_client, f"Half.parquet/{name}", parquet_bytes())
    storage = azure_storage(ACCOUNT, container, connection_string=azurite.connection_string, page_size=2)
    before = len(azurite.settled_requests())
    assert storage.exists("T.parquet") and not storage.exists("Half.parquet")
    assert len(azurite.settled_requests()) - before > 2  # more than one page each: correct before cheap


# -- globs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pattern,expected",
    [
        ("raw/sales_*.csv", ["sales_2023.csv", "sales_2024.csv", "sales_a.csv", "sales_b.csv", "sales_c.csv"]),
        ("raw/sales_202?.csv", ["sales_2023.csv", "sales_2024.csv"]),
        ("raw/sales_[ab].csv", ["sales_a.csv", "sales_b.csv"]),
        ("raw/sales_[^ab].csv", ["sales_c.csv"]),
        ("raw/sales_{2023,c}.csv", ["sales_2023.csv", "sales_c.csv"]),
        ("raw/*/part.csv", ["2024/part.csv"]),
        ("raw/x_*.csv", []),
    ],
)
def test_spark_globs(storage, container_client, pattern, expected):
    for name in ("sales_2023.csv", "sales_2024.csv", "sales_a.csv", "sales_b.csv", "sales_c.csv", "2024/part.csv"):
        upload(container_client, f"raw/{name}")
    assert storage.list(pattern) == [base(storage) + "raw/" + e for e in expected]
    assert storage.list("raw/sales_a.csv") == [base(storage) + "raw/sales_a.csv"]
    assert storage.list("raw/sales_z.csv") == []


# -- request counts ------------------------------------------------------------------------------
def test_one_request_per_existence_check_for_100_tables(azurite, storage, container_client, delta_options):
    names = []
    for i in range(40):
        upload(container_client, f"analysis/p/nb/P{i}.parquet/part-00000.parquet", parquet_bytes())
        upload(container_client, f"analysis/p/nb/P{i}.parquet/_SUCCESS", b"")
        names.append(f"analysis/p/nb/P{i}.parquet")
    for i in range(40):
        write_deltalake(
            f"az://{storage.container_name}/analysis/p/nb/D{i}.delta",
            pd.DataFrame({"id": [i]}),
            storage_options=delta_options,
        )
        names.append(f"analysis/p/nb/D{i}.delta")
    names += [f"analysis/p/nb/Missing{i}.parquet" for i in range(20)]
    before = len(azurite.settled_requests())
    found = [storage.exists(n) for n in names]
    requests = azurite.settled_requests()[before:]
    assert found == [True] * 80 + [False] * 20
    assert len(requests) == 100
    assert all(r.startswith("GET ") and "comp=list" in r for r in requests)
    before = len(requests) + before
    assert storage.list("analysis/p/nb/P7.parquet") and not storage.list("analysis/p/nb/Missing1.parquet")
    assert len(azurite.settled_requests()) - before == 2


def test_delta_state_costs_one_listing_and_one_read(azurite, storage, delta_options):
    uri = f"az://{storage.container_name}/analysis/T.delta"
    write_deltalake(uri, pd.DataFrame({"id": [1]}), storage_options=delta_options)
    before = len(azurite.settled_requests())
    assert storage.table_state("analysis/T.delta").last_operation == "WRITE"
    requests = azurite.settled_requests()[before:]
    assert [r.split(" ")[0] for r in requests] == ["GET", "GET"]
    assert "comp=list" in requests[0] and requests[1].endswith("/_delta_log/00000000000000000000.json")


# -- foreign inputs and errors -------------------------------------------------------------------
def test_foreign_input_in_another_readable_container(azurite, storage):
    other = azurite.create_container()
    other_storage = azure_storage(ACCOUNT, other, connection_string=azurite.connection_string)
    other_storage.write_text("shared/orders.csv", "id\n1\n")
    path = f"abfss://{other}@{ACCOUNT}.dfs.core.windows.net/shared/orders.csv"
    with pytest.raises(PathOutsideStorageError, match=other):
        storage.get_abs_path(path)
    assert storage.resolve_foreign_input(path) == path
    assert storage.resolve_foreign_input(path.replace("orders", "*")) == path.replace("orders", "*")
    assert storage.resolve_foreign_input("raw/x.csv") == storage.base_path + "raw/x.csv"
    own = f"abfss://{storage.container_name}@{ACCOUNT}.dfs.core.windows.net/raw/x.csv"
    assert storage.resolve_foreign_input(own) == storage.base_path + "raw/x.csv"
    with pytest.raises(PathOutsideStorageError, match="has no files") as caught:
        storage.resolve_foreign_input(path.replace("orders", "missing"))
    assert storage.base_path in str(caught.value) and path.replace("orders", "missing") in str(caught.value)


def test_foreign_input_not_readable_with_these_credentials(azurite, storage):
    path = "wasbs://data@otheraccount.blob.core.windows.net/x.csv"
    with pytest.raises(PathOutsideStorageError) as caught:
        storage.resolve_foreign_input(path)
    message = str(caught.value)
    assert path in message and storage.base_path in message and "connection string" in message
    assert KEY not in message


def test_missing_container_is_named(azurite):
    storage = azure_storage(ACCOUNT, "no-such-container", connection_string=azurite.connection_string, retries=0)
    with pytest.raises(StorageError, match="ContainerNotFound") as caught:
        storage.exists("t/T.parquet")
    assert "'no-such-container'" in str(caught.value) and "t/T.parquet" in str(caught.value)
    with pytest.raises(StorageError, match="ContainerNotFound"):
        storage.read_text("runs/r1.json")


def test_a_request_the_service_rejects_is_named(storage, container_client):
    storage.write_text("runs/r1.json", "1")
    container_client.get_blob_client("runs/r1.json").acquire_lease()
    with pytest.raises(StorageError, match=r"Cannot write .*runs/r1.json.* HTTP 412 LeaseIdMissing") as caught:
        storage.write_text("runs/r1.json", "2")  # another writer holds a lease on the blob
    assert f"'{storage.container_name}'" in str(caught.value)
    assert storage.read_text("runs/r1.json") == "1"


def test_a_wrong_key_is_refused(azurite, container):
    wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
    storage = azure_storage(ACCOUNT, container, account_key=wrong, endpoint=azurite.endpoint, retries=0)
    with pytest.raises(StorageCredentialsError, match="(refused|denied) the account key") as caught:
        storage.exists("t/T.parquet")
    assert "t/T.parquet" in str(caught.value) and wrong not in str(caught.value)


# -- secrets -------------------------------------------------------------------------------------
def test_credentials_never_reach_errors_logs_or_reprs(azurite, container, caplog, capsys):
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=ContainerSasPermissions(read=True, write=True, list=True, delete=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    signature = [p.split("=", 1)[1] for p in sas.split("&") if p.startswith("sig=")][0]
    caplog.set_level(logging.DEBUG)
    storages = [
        azure_storage(ACCOUNT, container, sas_token=sas, endpoint=azurite.endpoint, retries=1, retry_backoff=0.01),
        azure_storage(ACCOUNT, container, connection_string=azurite.connection_string, retries=1, retry_backoff=0.01),
        azure_storage(ACCOUNT, container, endpoint=f"{azurite.endpoint}?{sas}", retries=1, retry_backoff=0.01),
        azure_storage(
            ACCOUNT, container, connection_string=f"BlobEndpoint={azurite.endpoint};SharedAccessSignature={sas}"
        ),
    ]
    down = [
        azure_storage(
            ACCOUNT,
            container,
            sas_token=sas,
            endpoint="http://127.0.0.1:9/devstoreaccount1",
            retries=1,
            retry_backoff=0.01,
        ),
        azure_storage(
            ACCOUNT,
            container,
            account_key=KEY,
            endpoint="http://127.0.0.1:9/devstoreaccount1",
            retries=1,
            retry_backoff=0.01,
        ),
    ]
    shown: list[str] = []
    for storage in storages:
        storage.write_text("s/a.txt", "a")
        assert storage.read_text("s/a.txt") == "a" and storage.exists("s/a.txt")
        shown += [repr(storage), repr(storage.fs), repr(storage.sail_environment()), storage.url]
    for storage in down:
        for call, arg in ((storage.exists, "s/a.txt"), (storage.read_text, "s/b.txt")):
            with pytest.raises(StorageUnavailableError) as caught:
                call(arg)
            shown += [str(caught.value), "".join(traceback.format_exception(caught.value))]
    out = capsys.readouterr()
    shown += [out.out, out.err, caplog.text] + [str(r.args) for r in caplog.records]
    text = "\n".join(shown)
    assert "Request URL" in caplog.text  # azure-core did log the requests
    for secret in (KEY, signature, sas, azurite.connection_string):
        assert secret not in text


# -- on a cluster without credentials: dbutils.fs -------------------------------------------------
class ClusterFs:
    """`dbutils.fs.ls` as on a Databricks cluster whose Spark can read the container (here: Azurite)."""

    def __init__(self, client, base: str):
        self._client, self._base = client, base

    def ls(self, path: str):
        from dtflw.local.dbutils import FileInfo

        prefix = path[len(self._base) :].rstrip("/")
        if not path.startswith(self._base):
            items = []
        else:
            items = list(self._client.walk_blobs(name_starts_with=prefix + "/" if prefix else "", delimiter="/"))
        if not items:
            raise RuntimeError(f"java.io.FileNotFoundException: File {path} does not exist.")
        return [
            FileInfo(
                self._base + i.name,
                i.name.rstrip("/").rsplit("/", 1)[-1] + ("/" if i.name.endswith("/") else ""),
                getattr(i, "size", 0) or 0,
                0,
            )
            for i in items
        ]


class ClusterDbutils:
    def __init__(self, fs):
        self.fs = fs


def test_on_a_cluster_without_credentials_dbutils_fs_is_used(container, container_client):
    upload(container_client, "analysis/p/T.parquet/part-0.parquet", parquet_bytes())
    base_path = f"wasbs://{container}@{ACCOUNT}.blob.core.windows.net/"
    dbutils = ClusterDbutils(ClusterFs(container_client, base_path))
    storage = init_storage(ACCOUNT, container, "analysis", None, dbutils, environ={})
    assert storage.auth_mechanism == "dbutils"
    assert storage.exists("analysis/p/T.parquet") and not storage.exists("analysis/p/Missing.parquet")
    assert storage.list("analysis/p/*.parquet") == [base_path + "analysis/p/T.parquet"]
    with pytest.raises(StorageError, match="through dbutils"):
        storage.sail_environment()
    elsewhere = base_path.replace(container, "elsewhere") + "x.csv"
    with pytest.raises(PathOutsideStorageError, match="has no files"):
        storage.resolve_foreign_input(elsewhere)
