"""Local folder and local DBFS storages: paths, globs, table completeness, Delta versions."""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from dtflw.errors import PathOutsideStorageError, StorageError, UnknownStorageSchemeError
from dtflw.storage import from_url
from dtflw.storage.dbfs import LocalDbfsStorage
from dtflw.storage.local import LocalStorage, init_storage


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(str(tmp_path / "store"))


def write_parquet(folder, rows=3, name="part-00000.parquet"):
    os.makedirs(folder, exist_ok=True)
    pq.write_table(pa.table({"id": list(range(rows))}), os.path.join(folder, name))


def test_abs_paths_are_under_the_folder(storage, tmp_path):
    base = str(tmp_path / "store") + "/"
    assert storage.base_path == base
    assert storage.get_abs_path("raw/orders.csv") == base + "raw/orders.csv"
    assert storage.get_abs_path("/raw/orders.csv") == base + "raw/orders.csv"
    assert storage.get_abs_path(base + "x") == base + "x"
    assert storage.is_abs_path(base + "x")
    assert not storage.is_abs_path("x")
    assert storage.url == "file://" + base.rstrip("/")


def test_paths_outside_the_storage_are_rejected(storage):
    with pytest.raises(PathOutsideStorageError, match=r"\.\./x"):
        storage.get_abs_path("../x")
    with pytest.raises(PathOutsideStorageError, match="wasbs://c@a"):
        storage.get_abs_path("wasbs://c@a.blob.core.windows.net/x")


def test_root_dir_and_extension(tmp_path):
    storage = init_storage(str(tmp_path), root_dir="/analysis/", table_format="delta")
    assert storage.root_dir == "analysis"
    assert storage.get_path_in_root_dir("p/nb/T") == "analysis/p/nb/T"
    assert storage.get_path_with_file_extension("p/nb/T") == "p/nb/T.delta"
    assert storage.get_path_with_file_extension("p/nb/T", "parquet") == "p/nb/T.parquet"
    with pytest.raises(StorageError, match="csv"):
        init_storage(str(tmp_path), table_format="csv")


def test_a_parquet_table_is_complete_only_with_data_files(storage):
    path = storage.get_abs_path("t/T.parquet")
    assert not storage.exists(path)
    os.makedirs(storage.engine_path(path))
    assert not storage.exists(path), "an empty folder is not a table"
    open(os.path.join(path, "_SUCCESS"), "w").close()
    assert storage.exists(path), "_SUCCESS marks an empty but complete table"
    write_parquet(path, rows=5)
    state = storage.table_state(path)
    assert (state.exists, state.format, state.file_count) == (True, "parquet", 1)
    assert state.size_bytes > 0 and state.fingerprint
    write_parquet(path, rows=7, name="part-00001.parquet")
    assert storage.table_state(path).fingerprint != state.fingerprint


def test_a_delta_table_has_version_and_last_operation(storage):
    path = storage.get_abs_path("t/T.delta")
    write_deltalake(path, pd.DataFrame({"id": [1, 2]}))
    write_deltalake(path, pd.DataFrame({"id": [3]}), mode="append")
    state = storage.table_state(path)
    assert (state.exists, state.format, state.version) == (True, "delta", 1)
    assert state.last_operation == "WRITE"
    assert state.version_label == "v1"


def test_a_delta_log_without_commits_is_not_complete(storage):
    path = storage.get_abs_path("t/T.delta")
    os.makedirs(os.path.join(path, "_delta_log"))
    open(os.path.join(path, "_delta_log", "00000000000000000000.json.tmp"), "w").close()
    assert not storage.exists(path)


def test_a_single_file_exists(storage):
    path = storage.get_abs_path("raw/orders.csv")
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write("id\n1\n")
    state = storage.table_state(path)
    assert (state.exists, state.format, state.file_count) == (True, "csv", 1)


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("raw/sales_*.csv", ["sales_2023.csv", "sales_2024.csv", "sales_x.csv"]),
        ("raw/sales_202?.csv", ["sales_2023.csv", "sales_2024.csv"]),
        ("raw/sales_202[3].csv", ["sales_2023.csv"]),
        ("raw/sales_202[^3].csv", ["sales_2024.csv"]),
        ("raw/sales_{2023,x}.csv", ["sales_2023.csv", "sales_x.csv"]),
        ("raw/dir_*", ["dir_a"]),
        ("raw/dir_*/", ["dir_a"]),
        ("raw/*/f.csv", ["dir_a/f.csv"]),
        ("raw/nothing_*.csv", []),
        ("raw/sales_2023.csv", ["sales_2023.csv"]),
        ("raw/missing.csv", []),
    ],
)
def test_globs_follow_spark_syntax(storage, pattern, expected):
    raw = storage.engine_path(storage.get_abs_path("raw"))
    os.makedirs(os.path.join(raw, "dir_a"))
    for name in ("sales_2023.csv", "sales_2024.csv", "sales_x.csv", "dir_a/f.csv"):
        with open(os.path.join(raw, name), "w") as f:
            f.write("x")
    assert storage.list(pattern) == [storage.get_abs_path("raw/" + e) for e in expected]


def test_text_documents_are_written_atomically(storage):
    storage.write_text("_dtflw/runs/a.json", json.dumps({"a": 1}))
    assert json.loads(storage.read_text("_dtflw/runs/a.json")) == {"a": 1}
    assert [i.name for i in storage.list_dir("_dtflw/runs")] == ["a.json"]
    assert storage.read_text("_dtflw/runs/missing.json") is None
    storage.delete("_dtflw")
    assert storage.list_dir("_dtflw/runs") == []


def test_local_dbfs_maps_dbfs_paths_onto_a_folder(tmp_path):
    storage = LocalDbfsStorage(str(tmp_path / "dbfs"), root_dir="FileStore/me")
    path = storage.get_abs_path("FileStore/me/x/T.parquet")
    assert path == "dbfs:/FileStore/me/x/T.parquet"
    assert storage.engine_path(path) == str(tmp_path / "dbfs" / "FileStore/me/x/T.parquet")
    assert storage.logical_path(storage.engine_path(path)) == path
    assert storage.is_abs_path(storage.engine_path(path)), "an engine path handed back is recognised"
    write_parquet(storage.engine_path(path))
    assert storage.exists(path)
    assert storage.list("FileStore/me/x/*.parquet") == [path]
    assert storage.url == "dbfs:/FileStore/me"


def test_storage_urls(tmp_path):
    assert isinstance(from_url(str(tmp_path)), LocalStorage)
    local = from_url("file://" + str(tmp_path) + "?format=delta")
    assert local.base_path == str(tmp_path) + "/" and local.table_format == "delta"
    with pytest.raises(UnknownStorageSchemeError, match=r"'r2' is unknown; use one of: .*gs, s3, "):
        from_url("r2://bucket/x")


def test_reading_and_writing_tables_needs_spark(storage, spark):
    with pytest.raises(StorageError, match="No Spark session"):
        storage.read_table("t/T.parquet")
    storage.spark = spark
    df = spark.createDataFrame([(1, "a"), (2, "b")], "id int, name string")
    storage.write_table(df, "t/T.delta")
    assert storage.table_state("t/T.delta").format == "delta"
    assert sorted(storage.read_table("t/T.delta").collect()) == sorted(df.collect())
    storage.write_table(df, "t/T.parquet")
    assert storage.read_table("t/T.parquet").count() == 2
