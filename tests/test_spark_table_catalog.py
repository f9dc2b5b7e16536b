"""A Unity Catalog table's state on Databricks compute (a cluster, or databricks-connect), asked of the Spark
session: `spark.catalog.tableExists`, `DESCRIBE DETAIL` and `DESCRIBE HISTORY … LIMIT 1`. No Databricks SQL is
reachable here, so the session is a fake answering with the rows Databricks documents for these commands."""

from __future__ import annotations

import datetime

import pytest
from pyspark.sql import Row

from dtflw.errors import StorageError
from dtflw.storage.local import LocalStorage
from dtflw.storage.spark_catalog import SparkTableCatalog
from dtflw.storage.tables import written_between

REF = "uc:main.sales.orders"


class Workspace:
    """What the session's catalog holds: table name → (DESCRIBE DETAIL row, DESCRIBE HISTORY rows, newest first)."""

    def __init__(self):
        self.tables: dict[str, tuple[Row, list[Row]]] = {}
        self.statements: list[str] = []
        self.catalog = self

    def create(self, name: str, table_id: str, fmt: str = "delta") -> None:
        self.tables[name] = (_detail(name, table_id, fmt, 0), [_history(0, "CREATE TABLE AS SELECT")])

    def overwrite(self, name: str) -> None:
        detail, history = self.tables[name]
        version = history[0]["version"] + 1
        self.tables[name] = (_detail(name, detail["id"], detail["format"], version), [_history(version, "WRITE")])

    def tableExists(self, name: str) -> bool:  # noqa: N802 - pyspark's name
        return name in self.tables

    def sql(self, statement: str):
        self.statements.append(statement)
        command, _, rest = statement.partition(" `")
        name = ("`" + rest).split(" LIMIT")[0].replace("`", "")
        detail, history = self.tables[name]
        return _Result([detail] if command == "DESCRIBE DETAIL" else history[:1])


class _Result:
    def __init__(self, rows):
        self._rows = rows

    def first(self):
        return self._rows[0] if self._rows else None


def _detail(name, table_id, fmt, version):
    return Row(
        format=fmt,
        id=table_id,
        name=name,
        location=f"s3://bucket/tables/{table_id}",
        lastModified=datetime.datetime(2026, 12, 6, 1, 0, version, tzinfo=datetime.timezone.utc),
        numFiles=version + 1,
        sizeInBytes=1000 * (version + 1),
    )


def _history(version, operation):
    return Row(version=version, operation=operation, timestamp=datetime.datetime(2026, 12, 6))


@pytest.fixture
def workspace():
    return Workspace()


def test_a_table_is_missing_until_created_then_its_id_and_delta_version_are_its_identity(workspace):
    catalog = SparkTableCatalog(lambda: workspace)
    assert not catalog.state(REF).exists
    workspace.create("main.sales.orders", "1b7c")
    created = catalog.state(REF)
    assert (created.exists, created.format, created.version, created.table_id) == (True, "delta", 0, "1b7c")
    assert (created.file_count, created.size_bytes, created.last_operation) == (1, 1000, "CREATE TABLE AS SELECT")
    assert created.identity == "v0 of 1b7c"
    assert workspace.statements == [
        "DESCRIBE DETAIL `main`.`sales`.`orders`",
        "DESCRIBE HISTORY `main`.`sales`.`orders` LIMIT 1",
    ]
    workspace.overwrite("main.sales.orders")
    written = catalog.state(REF)
    assert written.identity == "v1 of 1b7c" and written_between(created, written)
    assert not written_between(written, catalog.state(REF))
    workspace.create("main.sales.orders", "9f00")  # dropped and created again: version 0 of a new table
    assert written_between(created, catalog.state(REF))


def test_a_storage_without_a_local_catalog_asks_its_spark_session(workspace, tmp_path):
    storage = LocalStorage(str(tmp_path))
    storage.spark = workspace
    workspace.create("main.sales.orders", "1b7c")
    assert storage.exists(REF) and storage.table_state(REF).identity == "v0 of 1b7c"
    assert not storage.exists("uc:main.sales.returns")


class Refusing:
    """A session that cannot describe the table (no Unity Catalog access, or an engine without one)."""

    class catalog:  # noqa: N801 - pyspark's attribute
        @staticmethod
        def tableExists(name):  # noqa: N802
            raise RuntimeError("[REQUIRES_SINGLE_PART_NAMESPACE] spark_catalog requires a single-part namespace\nat …")


def test_a_session_that_cannot_describe_the_table_is_a_typed_error_naming_it_and_what_to_do(workspace):
    with pytest.raises(StorageError) as caught:
        SparkTableCatalog(lambda: Refusing()).state(REF)
    message = str(caught.value)
    assert "main.sales.orders is a Unity Catalog table" in message and "REQUIRES_SINGLE_PART_NAMESPACE" in message
    assert "Unity Catalog access" in message and "sail engine" in message and "at …" not in message
    workspace.create("main.sales.orders", "1b7c", fmt="parquet")
    with pytest.raises(
        StorageError, match=r"main.sales.orders is not a Delta table dtflw can follow \(format parquet\)"
    ):
        SparkTableCatalog(lambda: workspace).state(REF)
    assert not any("HISTORY" in statement for statement in workspace.statements)  # Databricks has none for it
