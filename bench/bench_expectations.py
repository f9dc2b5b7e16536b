"""The cost of expectations (goals: 3 expectations on a 2M-row output cost ≤ 1.3× the flow without them,
and their scan ≤ 1.1× a bare `count()` of the table).

A notebook writes a 2,000,000-row parquet table; an orchestration notebook runs it through a flow,
once with no expectations and once with three (two row expressions, one warn and one fail, and a
`min_rows` rule), on the in-process Sail engine. Each variant runs ROUNDS times (alternating); the
medians of the flow's wall time are compared. Then the table is read back and its three expectations
evaluated the way dtflw does after a write (one aggregate query), against a bare `df.count()`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

from dtflw.engines import create_engine
from dtflw.expectations import declare
from dtflw.expectations.scan import evaluate
from dtflw.local.workspace import LocalSettings, LocalWorkspace

ROWS = 2_000_000
ROUNDS = 5
FLOW_GOAL, COUNT_GOAL = 1.3, 1.1
HEADER = "# Databricks notebook source\n"
WRITE = f"""
from dtflw import init_outputs
df = spark.range({ROWS}).selectExpr("id AS order_id", "id % 7 + 1 AS qty", "CAST(id % 1000 AS double) AS price")
df.write.mode("overwrite").parquet(init_outputs("Orders")["Orders"].value)
"""
EXPECT = (
    ', expect={"price_known": "price IS NOT NULL"}, expect_or_fail={"qty_positive": "qty > 0"},'
    ' expect_table={"min_rows": 1}'
)


def main_notebook(with_expectations: bool) -> str:
    expect = EXPECT if with_expectations else ""
    return f'from dtflw import init_flow\nflow = init_flow()\nflow.notebook("write").output("Orders"{expect}).run()\n'


def write(root: str, name: str, body: str) -> None:
    with open(os.path.join(root, name + ".py"), "w") as f:
        f.write(HEADER + body)


def run_flow(engine, tmp: str, with_expectations: bool) -> float:
    root = os.path.join(tmp, "ws", "bench")
    write(root, "main", main_notebook(with_expectations))
    storage = os.path.join(tmp, "storage")
    settings = LocalSettings(user="bench", storage_url=storage, dbfs_folder=os.path.join(tmp, "dbfs"))
    workspace = LocalWorkspace(os.path.join(tmp, "ws"), engine, settings)
    started = time.perf_counter()
    workspace.run_file(os.path.join(root, "main.py"))
    return time.perf_counter() - started


def scan_times(spark, path: str) -> dict[str, float]:
    """Median seconds, on the table at `path`, of: a bare count(); reading the two columns the expressions
    name (one aggregate); the expectations' one-query evaluation; and one query per expectation."""
    expectations = declare(
        "write", "Orders", {"price_known": "price IS NOT NULL"}, {"qty_positive": "qty > 0"}, {"min_rows": 1}
    )

    def checked():
        results = evaluate(spark.read.parquet(path), "write", "Orders", expectations)
        assert all(r.ok for r in results) and results[0].passed == ROWS

    def one_query_each():
        df = spark.read.parquet(path)
        df.where("NOT (price IS NOT NULL)").count(), df.where("NOT (qty > 0)").count(), df.count()

    runs = {
        "count": lambda: spark.read.parquet(path).count(),
        "columns": lambda: spark.read.parquet(path).selectExpr("sum(qty)", "sum(price)").collect(),
        "expectations": checked,
        "one query each": one_query_each,
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(ROUNDS):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(found) for name, found in times.items()}


def main() -> int:
    with create_engine("sail") as engine, tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "ws", "bench"))
        write(os.path.join(tmp, "ws", "bench"), "write", WRITE)
        run_flow(engine, tmp, True)  # warm-up: imports, first sessions, the table's folder
        plain, expected = [], []
        for _ in range(ROUNDS):
            plain.append(run_flow(engine, tmp, False))
            expected.append(run_flow(engine, tmp, True))
        flow_ratio = statistics.median(expected) / statistics.median(plain)
        times = scan_times(engine.session, os.path.join(tmp, "storage", "bench", "write", "Orders.parquet"))
    count, scan = times["count"], times["expectations"]
    count_ratio = scan / count
    print(f"flow writing {ROWS:,} rows: {statistics.median(plain):.3f} s without expectations, "
          f"{statistics.median(expected):.3f} s with 3: {flow_ratio:.2f}× (goal ≤ {FLOW_GOAL}×)")  # fmt: skip
    print(f"bare count(): {count:.3f} s; the 3 expectations' one scan: {scan:.3f} s: {count_ratio:.2f}× "
          f"(goal ≤ {COUNT_GOAL}×)")  # fmt: skip
    print(f"reading the 2 columns they name (sum): {times['columns']:.3f} s ({scan / times['columns']:.2f}×); "
          f"one query per expectation: {times['one query each']:.3f} s")  # fmt: skip
    print("(a bare count() of parquet is answered from the files' footers; a row expectation must read its columns)")
    return 0 if flow_ratio <= FLOW_GOAL and count_ratio <= COUNT_GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
