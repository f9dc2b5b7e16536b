"""The example pipeline in notebooks/, end to end on Sail: every table and its exact contents."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil

import pytest
from chispa import assert_df_equality

from dtflw.core.options import RunOptions
from dtflw.local.workspace import LocalSettings, LocalWorkspace
from dtflw.storage.local import LocalStorage

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / "notebooks" / "data" / "sample"
GOLD = [
    "SalesLines",
    "ProductRevenue",
    "RegionRevenue",
    "ShippingDelays",
    "KpiReport",
    "MonthlyRevenue",
    "CustomerSegments",
]
BRONZE = {
    "Orders": "ingest_orders",
    "OrderItems": "ingest_orders",
    "Customers": "ingest_customers",
    "Products": "ingest_products",
}


def _expected_module():
    spec = importlib.util.spec_from_file_location("expected", REPO / "notebooks" / "data" / "expected.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


expected = _expected_module()


def run_pipeline(tmp_path, engine, raw=SAMPLE, args=None, lazy=False, listeners=()):
    storage = tmp_path / "storage"
    if not (storage / "raw").exists():
        shutil.copytree(raw, storage / "raw")
    workspace = LocalWorkspace(
        str(REPO),
        engine,
        LocalSettings(user="tester@example.com", storage_url=str(storage), dbfs_folder=str(tmp_path / "dbfs")),
        RunOptions(listeners=list(listeners), force_lazy=lazy),
    )
    return json.loads(workspace.run_file(str(REPO / "notebooks" / "main.py"), args or {})), storage


def assert_table(spark, storage, path, table, rows):
    fmt = LocalStorage(str(storage)).table_state(path).format
    actual = spark.read.format(fmt).load(path)
    name = "SalesOrderItems" if table == "SalesLines" else table
    wanted = spark.createDataFrame([tuple(r.values()) for r in rows], expected.SCHEMAS[name])
    assert_df_equality(actual, wanted, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.parametrize("year", ["2024", "2023"])
def test_every_table_has_the_expected_contents(tmp_path, engine, spark, year):
    summary, storage = run_pipeline(tmp_path, engine, args={"year": year})
    tables = expected.expected_tables(str(SAMPLE), int(year))
    assert set(summary["tables"]) == set(GOLD)
    for table in GOLD:
        name = "SalesOrderItems" if table == "SalesLines" else table
        assert_table(spark, storage, summary["tables"][table], table, tables[name])
    for table, notebook in BRONZE.items():
        path = str(storage / "notebooks" / "bronze" / notebook / f"{table}.parquet")
        assert_table(spark, storage, path, table, tables[table])
    assert (storage / "notebooks/silver/build_sales/SalesOrderItems.delta/_delta_log").is_dir()
    assert summary["runs"]["silver/build_sales"]["SalesOrderItems"] == len(tables["SalesOrderItems"])


def test_the_optional_overrides_input_is_used_when_present(tmp_path, engine, spark):
    raw = tmp_path / "raw_with_overrides"
    shutil.copytree(SAMPLE, raw)
    (raw / "customer_overrides.csv").write_text(
        "customer_id,customer_name,email,city,region,signup_date\n"
        "1,Anna Becker,anna@example.com,Kiel,West,2022-11-07\n"
        "2,Ben Richter,ben@example.com,Berlin,West,2022-03-27\n"
    )
    summary, storage = run_pipeline(tmp_path, engine, raw=raw)
    tables = expected.expected_tables(str(raw), 2024)
    path = str(storage / "notebooks/bronze/ingest_customers/Customers.parquet")
    assert_table(spark, storage, path, "Customers", tables["Customers"])
    assert_table(spark, storage, summary["tables"]["RegionRevenue"], "RegionRevenue", tables["RegionRevenue"])


def test_the_pipeline_on_a_local_unity_catalog_volume(tmp_path, engine, spark):
    volumes = tmp_path / "volumes"
    shutil.copytree(SAMPLE, volumes / "main/sales/lake/raw")  # relative file_paths: from the volume, not root_dir
    workspace = LocalWorkspace(
        str(REPO),
        engine,
        LocalSettings(
            user="tester@example.com",
            storage_url="/Volumes/main/sales/lake/analysis",
            dbfs_folder=str(tmp_path / "dbfs"),
            volumes_folder=str(volumes),
        ),
    )
    summary = json.loads(workspace.run_file(str(REPO / "notebooks" / "main.py")))
    tables = expected.expected_tables(str(SAMPLE), 2024)
    for table in GOLD:
        path = summary["tables"][table]
        assert path.startswith(str(volumes / "main/sales/lake/analysis/notebooks/")), path
        name = "SalesOrderItems" if table == "SalesLines" else table
        fmt = "delta" if path.endswith(".delta") else "parquet"
        wanted = spark.createDataFrame([tuple(r.values()) for r in tables[name]], expected.SCHEMAS[name])
        assert_df_equality(spark.read.format(fmt).load(path), wanted, ignore_row_order=True, ignore_nullable=True)
