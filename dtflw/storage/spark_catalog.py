"""A Unity Catalog table's state asked of the Spark session, where the catalog is the workspace's own (on a
Databricks cluster, or Databricks compute through databricks-connect): `DESCRIBE DETAIL` for the table id,
files and size, `DESCRIBE HISTORY … LIMIT 1` for its Delta version and last operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dtflw.errors import StorageError
from dtflw.storage.tables import TABLE_PREFIX, TableState, catalog_fingerprint


class SparkTableCatalog:
    """Answers `state(ref)` for `uc:<catalog>.<schema>.<table>` with the session `spark()` returns."""

    def __init__(self, spark: Callable[[], Any]) -> None:
        self._spark = spark

    def state(self, ref: str) -> TableState:
        name = ref[len(TABLE_PREFIX) :]
        quoted = ".".join(f"`{part.replace('`', '``')}`" for part in name.split("."))
        spark = self._spark()
        try:
            if not spark.catalog.tableExists(name):
                return TableState(path=ref, exists=False)
            detail = spark.sql(f"DESCRIBE DETAIL {quoted}").first()
            fmt = None if detail is None else str(detail["format"]).lower()
            last = spark.sql(f"DESCRIBE HISTORY {quoted} LIMIT 1").first() if fmt == "delta" else None
        except Exception as e:
            first_line = (str(e).splitlines() or [""])[0][:300]
            raise StorageError(
                f"Table {name} is a Unity Catalog table, and this Spark session cannot describe it "
                f"({type(e).__name__}: {first_line}). On Databricks, check that the compute has Unity Catalog access "
                "and that you may DESCRIBE the table; locally, run with the sail engine (its local Unity Catalog), "
                "or give the table's path as file_path."
            ) from e
        if last is None:
            why = "no detail" if fmt is None else "no history" if fmt == "delta" else f"format {fmt}"
            raise StorageError(f"Unity Catalog table {name} is not a Delta table dtflw can follow ({why}).")
        table_id, version = str(detail["id"]), int(last["version"])
        modified = detail["lastModified"]
        return TableState(
            path=ref,
            exists=True,
            format="delta",
            version=version,
            last_operation=last["operation"],
            file_count=int(detail["numFiles"] or 0),
            size_bytes=int(detail["sizeInBytes"] or 0),
            modified_ms=int(modified.timestamp() * 1000) if modified is not None else 0,
            fingerprint=catalog_fingerprint(table_id, version),
            table_id=table_id,
        )
