"""Schema and row count of a table, where cheap and without Spark: parquet footers, the Delta log.

Never reads data: for parquet, the footers of local files (pyarrow); for Delta, the newest
commit (row counts from `add.stats.numRecords` when that commit rewrote the whole table) and the
newest `metaData` action within a few commits back (the schema). Anything else stays unknown.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from dtflw.storage.filesystems import LocalFileSystem

if TYPE_CHECKING:
    from dtflw.storage.base import Storage

MAX_FOOTERS = 64  # more part files than this: schema from the first, row count unknown
MAX_COMMITS_BACK = 10
_SPARK_ROW_METADATA = b"org.apache.spark.sql.parquet.row.metadata"
_SPARK_NAMES = {"integer": "int", "long": "bigint", "short": "smallint", "byte": "tinyint"}
_ARROW_NAMES = {
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "float": "float",
    "halffloat": "float",
    "double": "double",
    "bool": "boolean",
    "string": "string",
    "large_string": "string",
    "string_view": "string",
    "binary": "binary",
    "large_binary": "binary",
    "date32[day]": "date",
    "null": "void",
}

Schema = list[tuple[str, str]]


def describe(
    storage: Storage, path: str, table_format: str | None, version: int | None
) -> tuple[Schema | None, int | None]:
    """(schema as (column, type) pairs, row count) of a table, each None when not cheaply known."""
    if table_format == "delta" and version is not None:
        return _delta(storage, path.rstrip("/"), version)
    if table_format == "parquet" and isinstance(storage.fs, LocalFileSystem):
        return _parquet(storage.fs_path(path))
    return None, None


# -- parquet ------------------------------------------------------------------------------------
def _parquet(local_path: str) -> tuple[Schema | None, int | None]:
    files = _parquet_files(local_path)
    if not files:
        return None, None
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None, None
    footers = [pq.read_metadata(f) for f in files[:MAX_FOOTERS]]
    rows = sum(m.num_rows for m in footers) if len(files) <= MAX_FOOTERS else None
    return _footer_schema(footers[0]), rows


def _parquet_files(local_path: str) -> list[str]:
    if os.path.isfile(local_path):
        return [local_path]
    found = []
    for folder, dirs, files in os.walk(local_path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        found += [
            os.path.join(folder, f) for f in sorted(files) if f.endswith(".parquet") and not f.startswith(("_", "."))
        ]
    return found


def _footer_schema(metadata: Any) -> Schema:  # a pyarrow.parquet.FileMetaData (pyarrow has no types)
    spark = (metadata.metadata or {}).get(_SPARK_ROW_METADATA)
    if spark:
        return _spark_schema(json.loads(spark))
    return [(f.name, _arrow_type(f.type)) for f in metadata.schema.to_arrow_schema()]


def _arrow_type(arrow_type: Any) -> str:  # a pyarrow.DataType
    import pyarrow as pa

    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp" if arrow_type.tz else "timestamp_ntz"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{_arrow_type(arrow_type.value_type)}>"
    if pa.types.is_map(arrow_type):
        return f"map<{_arrow_type(arrow_type.key_type)},{_arrow_type(arrow_type.item_type)}>"
    if pa.types.is_struct(arrow_type):
        return "struct<" + ",".join(f"{f.name}:{_arrow_type(f.type)}" for f in arrow_type) + ">"
    return _ARROW_NAMES.get(str(arrow_type), str(arrow_type))


# -- delta --------------------------------------------------------------------------------------
def _delta(storage: Storage, path: str, version: int) -> tuple[Schema | None, int | None]:
    actions = _commit(storage, path, version)
    if actions is None:
        return None, None
    rows = _rows_if_rewritten(actions, version)
    schema = None
    for back in range(version, max(-1, version - MAX_COMMITS_BACK - 1), -1):
        found = actions if back == version else _commit(storage, path, back)
        if found is None:
            break
        meta = next((a["metaData"] for a in found if "metaData" in a), None)
        if meta is not None:
            schema = _spark_schema(json.loads(meta["schemaString"]))
            break
    return schema, rows


def _commit(storage: Storage, path: str, version: int) -> list[dict[str, Any]] | None:
    text = storage.read_text(f"{path}/_delta_log/{version:020d}.json")
    if text is None:
        return None
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _rows_if_rewritten(actions: list[dict[str, Any]], version: int) -> int | None:
    info: dict[str, Any] = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
    params = info.get("operationParameters") or {}
    partial = "predicate" in params or "replaceWhere" in params or params.get("dynamicPartitionOverwrite") == "true"
    if not (version == 0 or (params.get("mode") == "Overwrite" and not partial)):
        return None
    rows = 0
    for action in actions:
        if "add" in action:
            stats = action["add"].get("stats")
            if not stats:
                return None
            count = json.loads(stats).get("numRecords")
            if count is None:
                return None
            rows += count
    return rows


def _spark_schema(struct: dict[str, Any]) -> Schema:
    return [(f["name"], _spark_type(f["type"])) for f in struct.get("fields", ())]


def _spark_type(spark_type: str | dict[str, Any]) -> str:
    if isinstance(spark_type, str):
        return _SPARK_NAMES.get(spark_type, spark_type)
    kind = spark_type.get("type")
    if kind == "struct":
        return "struct<" + ",".join(f"{n}:{t}" for n, t in _spark_schema(spark_type)) + ">"
    if kind == "array":
        return f"array<{_spark_type(spark_type['elementType'])}>"
    if kind == "map":
        return f"map<{_spark_type(spark_type['keyType'])},{_spark_type(spark_type['valueType'])}>"
    return str(kind)
