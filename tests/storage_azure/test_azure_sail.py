"""Sail reads and writes the `abfss://` paths an AzureStorage hands out, on Azurite; the storage sees the tables."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable
from testkit import azure_storage

from storage_azure.azurite import ACCOUNT

pytestmark = pytest.mark.azurite


@pytest.fixture
def sail_storage(azurite, sail_azure_session):
    """A dtflw 0.6-style (wasbs) storage whose engine paths are abfss, bound to the Sail session."""
    return azure_storage(
        ACCOUNT,
        azurite.create_container(),
        "analysis",
        sail_azure_session,
        connection_string=azurite.connection_string,
        engine_url_style="abfss",
        retries=1,
        retry_backoff=0.05,
    )


def test_parquet_written_by_spark_is_complete_and_reads_back(sail_storage, sail_azure_session):
    spark = sail_azure_session
    df = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], "id long, name string")
    path = sail_storage.get_abs_path("analysis/p/nb/T.parquet")
    assert path.startswith("wasbs://") and sail_storage.engine_path(path).startswith("abfss://")
    assert not sail_storage.exists(path)
    sail_storage.write_table(df, path)
    assert sail_storage.exists(path)
    state = sail_storage.table_state(path)
    assert (state.exists, state.format) == (True, "parquet") and state.file_count >= 1
    assert_df_equality(sail_storage.read_table(path), df, ignore_row_order=True)
    direct = spark.read.parquet(sail_storage.engine_path(path))
    assert_df_equality(direct, df, ignore_row_order=True)


def test_delta_written_by_spark_has_its_version_and_operation(sail_storage, sail_azure_session, delta_options):
    spark = sail_azure_session
    first = spark.createDataFrame([(1,), (2,)], "id long")
    second = spark.createDataFrame([(3,)], "id long")
    path = sail_storage.get_abs_path("analysis/p/nb/D.delta")
    sail_storage.write_table(first, path)
    sail_storage.write_table(second, path)
    second.write.format("delta").mode("append").save(sail_storage.engine_path(path))
    state = sail_storage.table_state(path)
    uri = f"az://{sail_storage.container_name}/analysis/p/nb/D.delta"
    history = DeltaTable(uri, storage_options=delta_options).history()
    assert (state.exists, state.format, state.version) == (True, "delta", 2)
    assert state.last_operation == history[0]["operation"] == "WRITE"
    assert_df_equality(sail_storage.read_table(path), spark.createDataFrame([(3,), (3,)], "id long"))
    v0 = spark.read.format("delta").option("versionAsOf", 0).load(sail_storage.engine_path(path))
    assert_df_equality(v0, first, ignore_row_order=True)


def test_spark_reads_the_globs_the_storage_validates(sail_storage, sail_azure_session):
    for year, rows in (("2023", "1\n2\n"), ("2024", "3\n"), ("2025", "4\n")):
        sail_storage.write_text(f"raw/sales_{year}.csv", "id\n" + rows)
    pattern = sail_storage.get_abs_path("raw/sales_{2023,2024}.csv")
    assert [p.rsplit("/", 1)[1] for p in sail_storage.list(pattern)] == ["sales_2023.csv", "sales_2024.csv"]
    df = sail_azure_session.read.csv(sail_storage.engine_path(pattern), header=True, schema="id long")
    assert sorted(r.id for r in df.collect()) == [1, 2, 3]
