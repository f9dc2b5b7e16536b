"""Table writes of notebook sessions on the local Unity Catalog, made to act as on Databricks.

Sail's `unity` catalogs refuse what Databricks does every day — `mode("overwrite").saveAsTable` of an
existing table and `writeTo(...).createOrReplace()` ("does not support REPLACE") — and create a new
managed Delta table from nullable columns only through SQL (measured with pysail 0.7.2). For the sessions
of an engine with a local Unity Catalog, `saveAsTable` and `writeTo` therefore:

- refuse a managed table in another format than Delta (`ManagedTableFormatError`), as Databricks does;
- create a new table with `CREATE TABLE … USING delta`, then insert the rows;
- overwrite an existing table by `INSERT OVERWRITE` (columns matched by name; the table keeps its id and
  history, as a Delta overwrite does), or, with `overwriteSchema`, drop and create it again;
- replace (`createOrReplace`, `replace`) by dropping and creating it again (a new table id).
Sessions of other engines are not touched.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dtflw.errors import ManagedTableFormatError, TableSchemaMismatchError

if TYPE_CHECKING:
    from dtflw.local.unity_catalog import LocalUnityCatalog

_SESSIONS: weakref.WeakKeyDictionary[Any, LocalUnityCatalog] = weakref.WeakKeyDictionary()  # session → its catalog
_ORIGINALS: dict[str, Callable[..., None]] = {}  # pyspark's writer methods (all answer None), once patched
Columns = str | Sequence[object] | None  # partition columns: a name, names, or (writeTo) expressions


def install(session: Any, catalog: LocalUnityCatalog) -> None:
    """Make `session`'s table writes go through the local Unity Catalog `catalog`."""
    _patch_writers()
    _SESSIONS[session] = catalog


def _patch_writers() -> None:
    if _ORIGINALS:
        return
    from pyspark.sql.connect.readwriter import DataFrameWriter, DataFrameWriterV2

    _ORIGINALS["saveAsTable"] = DataFrameWriter.saveAsTable
    _ORIGINALS["create"] = DataFrameWriterV2.create
    _ORIGINALS["createOrReplace"] = DataFrameWriterV2.createOrReplace
    _ORIGINALS["replace"] = DataFrameWriterV2.replace
    # pyspark's writer methods, patched: mypy refuses assignments to methods
    DataFrameWriter.saveAsTable = _save_as_table  # type: ignore[method-assign]
    DataFrameWriterV2.create = lambda self: _create(self, replace=False)  # type: ignore[method-assign]
    DataFrameWriterV2.createOrReplace = (  # type: ignore[method-assign]
        lambda self: _create(self, replace=True, must_exist=False)
    )
    DataFrameWriterV2.replace = lambda self: _create(self, replace=True, must_exist=True)  # type: ignore[method-assign]


def full_name(session: Any, name: str) -> str:
    """`name` as catalog.schema.table, completed with the session's current catalog and schema."""
    parts = [p.strip("`").lower() for p in name.split(".")]
    if len(parts) < 3:
        parts = [session.catalog.currentCatalog(), session.catalog.currentDatabase()][: 3 - len(parts)] + parts
    return ".".join(["hive_metastore" if parts[0] == "spark_catalog" else parts[0], *parts[1:]])


def _save_as_table(
    self: Any,
    name: str,
    format: str | None = None,  # noqa: A002 - pyspark's names
    mode: str | None = None,
    partitionBy: str | list[str] | None = None,  # noqa: N803
    **options: object,
) -> None:
    catalog = _SESSIONS.get(self._spark)
    if catalog is None:
        return _ORIGINALS["saveAsTable"](self, name, format, mode, partitionBy, **options)
    if format is not None:
        self.format(format)
    if mode is not None:
        self.mode(mode)
    self.options(**options)
    write = self._write
    if "path" in write.options:  # an external table: Sail writes it as Databricks does
        return _ORIGINALS["saveAsTable"](self, name, None, None, partitionBy)
    session, table = self._spark, full_name(self._spark, name)
    _check_delta(table, write.source)
    existing = catalog.store.find_table(table)
    save_mode = (write.mode or "errorifexists").lower()
    if existing is None:
        return _create_as_select(session, table, self._df, partitionBy or write.partitioning_cols)
    if save_mode == "ignore":
        return None
    if save_mode != "overwrite":
        return _ORIGINALS["saveAsTable"](self, name, None, None, partitionBy)  # append; or the error Spark gives
    columns = [c["name"] for c in existing.get("columns") or []]
    frame = _frame(session, self._df)
    if sorted(c.lower() for c in frame.columns) == sorted(c.lower() for c in columns):
        frame.select(*columns).write.insertInto(table, overwrite=True)
        return None
    if str(write.options.get("overwriteSchema", "false")).lower() == "true":
        session.sql(f"DROP TABLE {_quoted(table)}")
        return _create_as_select(session, table, self._df, partitionBy or write.partitioning_cols)
    raise TableSchemaMismatchError(
        f"A schema mismatch detected when overwriting table {table}: it has columns {columns}, the data "
        f"{frame.columns}. Write the same columns, or set .option('overwriteSchema', 'true') to replace its schema."
    )


def _create(writer: Any, replace: bool, must_exist: bool = False) -> None:
    catalog = _SESSIONS.get(writer._spark)
    original = _ORIGINALS["createOrReplace" if replace and not must_exist else "replace" if replace else "create"]
    if catalog is None:
        return original(writer)
    session, table = writer._spark, full_name(writer._spark, writer._table_name)
    _check_delta(table, writer._write.provider)
    if replace and catalog.store.find_table(table) is not None:
        session.sql(f"DROP TABLE {_quoted(table)}")
    elif must_exist:
        return original(writer)  # the error Spark gives for replacing a missing table
    return _create_as_select(session, table, writer._df, writer._write.partitioning_columns)


def _check_delta(table: str, source: object) -> None:
    if source and str(source).lower() != "delta":
        raise ManagedTableFormatError(
            f"Managed table {table} cannot be {source}: managed tables are Delta on Databricks Unity Catalog. "
            "Drop format(...) (Delta is the default), or give a path for an external table."
        )


def _create_as_select(session: Any, table: str, plan: Any, partition_by: Columns) -> None:
    """Create `table` with the plan's columns, then insert its rows (a CTAS of a local relation's nullable
    columns fails on Sail's managed tables; CREATE then INSERT does not)."""
    frame = _frame(session, plan)
    columns = ", ".join(
        f"{_quoted(f.name)} {f.dataType.simpleString()}{'' if f.nullable else ' NOT NULL'}" for f in frame.schema.fields
    )
    given = [partition_by] if isinstance(partition_by, str) else partition_by or []  # a name alone, as pyspark takes it
    names = [c for c in given if isinstance(c, str)]  # writeTo's partition expressions: none
    partitioned = f" PARTITIONED BY ({', '.join(_quoted(c) for c in names)})" if names else ""
    session.sql(f"CREATE TABLE {_quoted(table)} ({columns}) USING delta{partitioned}")
    frame.write.insertInto(table)


def _frame(session: Any, plan: Any) -> Any:
    from pyspark.sql.connect.dataframe import DataFrame

    return DataFrame(plan, session)


def _quoted(name: str) -> str:
    return ".".join(f"`{part}`" for part in name.split("."))
