"""Unity Catalog volume storage, mapped onto a local folder as the local runtime does."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from chispa import assert_df_equality
from deltalake import write_deltalake

from dtflw.errors import InvalidStorageNameError, PathOutsideStorageError, StorageError
from dtflw.local.dbutils import LocalFs
from dtflw.storage import from_url
from dtflw.storage.environment import StorageEnvironment
from dtflw.storage.volumes import VolumeStorage, from_volume_path, init_storage

BASE = "/Volumes/main/sales/raw/"


@pytest.fixture
def volumes(tmp_path) -> str:
    return str(tmp_path / "volumes")


@pytest.fixture
def storage(volumes) -> VolumeStorage:
    return init_storage("main", "sales", "raw", "analysis", local_folder=volumes)


def test_paths_are_volume_paths(storage, volumes):
    assert storage.base_path == BASE
    assert storage.url == BASE + "analysis"
    assert (storage.catalog, storage.schema, storage.volume) == ("main", "sales", "raw")
    output = storage.get_abs_path(storage.get_path_in_root_dir(storage.get_path_with_file_extension("p/nb/T")))
    assert output == BASE + "analysis/p/nb/T.parquet"
    assert storage.get_abs_path("dbfs:/Volumes/main/sales/raw/x.csv") == BASE + "x.csv"
    assert storage.is_abs_path(BASE + "x.csv") and not storage.is_abs_path("x.csv")
    local = os.path.join(volumes, "main", "sales", "raw", "x.csv")
    assert storage.engine_path(BASE + "x.csv") == local
    assert storage.logical_path(local) == BASE + "x.csv"
    assert repr(storage) == f"VolumeStorage({BASE + 'analysis'!r}, root_dir='analysis')"


def test_other_volumes_and_schemes_are_outside(storage):
    with pytest.raises(PathOutsideStorageError) as caught:
        storage.get_abs_path("/Volumes/main/sales/other/x.csv")
    assert "/Volumes/main/sales/other/x.csv" in str(caught.value) and BASE in str(caught.value)
    with pytest.raises(PathOutsideStorageError, match="abfss://c@a"):
        storage.get_abs_path("abfss://c@a.dfs.core.windows.net/x")


def test_foreign_input_of_another_readable_volume(storage, volumes):
    other = os.path.join(volumes, "main", "ref", "codes")
    os.makedirs(other)
    with open(os.path.join(other, "countries.csv"), "w") as f:
        f.write("code\nDE\n")
    path = "/Volumes/main/ref/codes/countries.csv"
    assert storage.resolve_foreign_input(path) == path
    assert storage.resolve_foreign_input("dbfs:" + path) == path
    assert storage.engine_path(path) == os.path.join(other, "countries.csv")
    assert storage.resolve_foreign_input("x.csv") == BASE + "x.csv"
    with pytest.raises(PathOutsideStorageError, match="no readable files") as caught:
        storage.resolve_foreign_input("/Volumes/main/ref/codes/missing.csv")
    assert BASE in str(caught.value)
    with pytest.raises(PathOutsideStorageError, match="not a volume path"):
        storage.resolve_foreign_input("s3://bucket/x.csv")


@pytest.mark.parametrize(
    "names,kind",
    [
        (("", "s", "v"), "catalog"),
        (("main.x", "s", "v"), "catalog"),
        (("main", "my schema", "v"), "schema"),
        (("main", "s/x", "v"), "schema"),
        (("main", "s", "v\n"), "volume"),
        (("main", "s", "v" * 256), "volume"),
        (("main", "s", None), "volume"),
    ],
)
def test_invalid_names(names, kind, volumes):
    with pytest.raises(InvalidStorageNameError, match=f"Unity Catalog {kind} name"):
        VolumeStorage(*names, local_folder=volumes)


def test_on_a_cluster_the_volume_must_be_mounted():
    if os.path.isdir("/Volumes/main/sales/raw"):
        pytest.skip("a real volume is mounted here")
    with pytest.raises(StorageError, match="local_folder="):
        init_storage("main", "sales", "raw")


def test_table_existence_and_state(storage):
    folder = storage.engine_path(BASE + "t/P.parquet")
    os.makedirs(folder)
    assert not storage.exists("t/P.parquet")
    pq.write_table(pa.table({"id": [1, 2]}), os.path.join(folder, "part-0.parquet"))
    assert storage.exists("t/P.parquet")
    write_deltalake(storage.engine_path(BASE + "t/D.delta"), pd.DataFrame({"id": [1]}))
    write_deltalake(storage.engine_path(BASE + "t/D.delta"), pd.DataFrame({"id": [2]}), mode="append")
    state = storage.table_state(BASE + "t/D.delta")
    assert (state.exists, state.format, state.version, state.last_operation) == (True, "delta", 1, "WRITE")
    assert storage.list("t/{P,D}.*") == [BASE + "t/D.delta", BASE + "t/P.parquet"]


def test_spark_and_the_local_dbutils_see_the_same_volume(storage, volumes, spark):
    storage.spark = spark
    df = spark.createDataFrame([(1, "a"), (2, "b")], "id long, name string")
    storage.write_table(df, "analysis/T.delta")
    assert storage.table_state("analysis/T.delta").version == 0
    assert_df_equality(storage.read_table("analysis/T.delta"), df, ignore_row_order=True)
    fs = LocalFs(os.path.join(volumes, "..", "dbfs"), volumes)
    assert [i.name for i in fs.ls(BASE + "analysis")] == ["T.delta/"]


def test_from_url_maps_onto_the_runtime_volumes_folder(volumes):
    runtime = StorageEnvironment(user="u", is_local=True, volumes_folder=volumes)
    storage = from_url("/Volumes/main/sales/raw/analysis?format=delta", runtime)
    assert isinstance(storage, VolumeStorage)
    assert (storage.base_path, storage.root_dir, storage.table_format) == (BASE, "analysis", "delta")
    assert storage.engine_path(BASE + "x") == os.path.join(volumes, "main", "sales", "raw", "x")
    assert from_volume_path(storage.url, runtime=runtime).url == storage.url
    with pytest.raises(StorageError, match="malformed"):
        from_volume_path("/Volumes/main/sales", runtime=runtime)
