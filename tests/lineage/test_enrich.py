"""Schemas and row counts from parquet footers and Delta logs, on real files, without Spark."""

from __future__ import annotations

import datetime
import decimal
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from dtflw.lineage import enrich
from dtflw.lineage.enrich import describe

SPARK_ROW_METADATA = b"org.apache.spark.sql.parquet.row.metadata"


def table_path(storage, name):
    return storage.get_abs_path(f"tables/{name}")


def describe_table(storage, path):
    state = storage.table_state(path)
    return describe(storage, path, state.format, state.version)


def test_parquet_types_read_from_the_footer(storage):
    path = table_path(storage, "Typed.parquet")
    os.makedirs(path)
    table = pa.table(
        {
            "i": pa.array([1], pa.int32()),
            "amount": pa.array([decimal.Decimal("1.50")], pa.decimal128(18, 2)),
            "at": pa.array([datetime.datetime(2024, 1, 1)], pa.timestamp("us", tz="UTC")),
            "local": pa.array([datetime.datetime(2024, 1, 1)], pa.timestamp("us")),
            "day": pa.array([datetime.date(2024, 1, 1)], pa.date32()),
            "tags": pa.array([["a"]], pa.list_(pa.string())),
            "attrs": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
            "point": pa.array([{"x": 1.0, "ok": True}], pa.struct([("x", pa.float64()), ("ok", pa.bool_())])),
        }
    )
    pq.write_table(table, os.path.join(path, "part-00000.parquet"))
    pq.write_table(table, os.path.join(path, "part-00001.parquet"))
    schema, rows = describe_table(storage, path)
    assert rows == 2
    assert schema == [
        ("i", "int"),
        ("amount", "decimal(18,2)"),
        ("at", "timestamp"),
        ("local", "timestamp_ntz"),
        ("day", "date"),
        ("tags", "array<string>"),
        ("attrs", "map<string,bigint>"),
        ("point", "struct<x:double,ok:boolean>"),
    ]


def test_a_spark_written_footer_gives_spark_types(storage):
    spark_schema = {
        "type": "struct",
        "fields": [
            {"name": "id", "type": "long", "nullable": True, "metadata": {}},
            {"name": "scores", "type": {"type": "array", "elementType": "integer", "containsNull": True}},
            {"name": "m", "type": {"type": "map", "keyType": "string", "valueType": "short"}},
            {"name": "s", "type": {"type": "struct", "fields": [{"name": "b", "type": "byte"}]}},
        ],
    }
    path = table_path(storage, "single.parquet")
    os.makedirs(os.path.dirname(path))
    table = pa.table({"id": [1, 2, 3]}).replace_schema_metadata({SPARK_ROW_METADATA: json.dumps(spark_schema)})
    pq.write_table(table, path)  # a single file, not a folder
    assert describe_table(storage, path) == (
        [("id", "bigint"), ("scores", "array<int>"), ("m", "map<string,smallint>"), ("s", "struct<b:tinyint>")],
        3,
    )


def test_too_many_part_files_leave_the_row_count_unknown(storage, monkeypatch):
    monkeypatch.setattr(enrich, "MAX_FOOTERS", 2)
    path = table_path(storage, "Many.parquet")
    os.makedirs(path)
    for i in range(3):
        pq.write_table(pa.table({"id": [i]}), os.path.join(path, f"part-{i:05d}.parquet"))
    assert describe_table(storage, path) == ([("id", "bigint")], None)


def test_delta_rows_only_when_the_newest_commit_rewrote_the_table(storage):
    path = table_path(storage, "Sales.delta")
    write_deltalake(path, pa.table({"id": [1, 2, 3]}))
    assert describe_table(storage, path) == ([("id", "bigint")], 3)
    write_deltalake(path, pa.table({"id": [4]}), mode="append")
    assert describe_table(storage, path) == ([("id", "bigint")], None)  # v1 only adds: the total is not in it
    write_deltalake(path, pa.table({"id": [5, 6]}), mode="overwrite")
    assert describe_table(storage, path) == ([("id", "bigint")], 2)
    write_deltalake(path, pa.table({"id": [7]}), mode="overwrite", predicate="id >= 7")
    assert describe_table(storage, path)[1] is None  # a partial overwrite keeps other files


def test_delta_schema_found_a_few_commits_back_or_left_unknown(storage, monkeypatch):
    path = table_path(storage, "Log.delta")
    write_deltalake(path, pa.table({"id": [1]}))
    for _ in range(3):
        write_deltalake(path, pa.table({"id": [1]}), mode="append")
    assert describe_table(storage, path) == ([("id", "bigint")], None)
    monkeypatch.setattr(enrich, "MAX_COMMITS_BACK", 1)
    assert describe_table(storage, path) == (None, None)


def test_commits_without_stats_give_no_row_count(storage):
    path = table_path(storage, "NoStats.delta")
    log = os.path.join(path, "_delta_log")
    os.makedirs(log)
    actions = [
        {"commitInfo": {"operation": "WRITE", "operationParameters": {"mode": "Overwrite"}}},
        {"metaData": {"schemaString": json.dumps({"type": "struct", "fields": [{"name": "a", "type": "udt"}]})}},
        {"add": {"path": "part-0.parquet", "size": 1, "modificationTime": 0, "dataChange": True}},
    ]
    with open(os.path.join(log, f"{0:020d}.json"), "w") as f:
        f.write("\n".join(json.dumps(a) for a in actions))
    assert describe_table(storage, path) == ([("a", "udt")], None)
    assert describe(storage, path, "delta", 7) == (None, None)  # a commit that is not there


@pytest.mark.parametrize("fmt", ["csv", None])
def test_other_formats_are_not_described(storage, fmt):
    path = table_path(storage, "raw.csv")
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        f.write("a\n1\n")
    assert describe(storage, path, fmt, None) == (None, None)
    assert describe(storage, table_path(storage, "missing.parquet"), "parquet", None) == (None, None)
