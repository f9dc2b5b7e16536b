"""Chaos: the example pipeline (notebooks/main.py) killed at random points — 20 times with SIGKILL, 5 with
SIGINT — each time followed by `dtflw run --lazy`. Every table must then equal a clean run's, and every
lineage and run-history file must stay readable. Real processes, real Sail, real parquet and Delta files.

Each trial starts work on the storage the previous one left, then is interrupted at a random moment of
a full run's duration. Every other trial changes the year and touches the raw files (every step has
new work); the trials between run the same year again, where silver and gold (eager steps) rewrite tables whose last
success record still matches: the case where a kill mid-write used to leave a table taken for
up to date.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
from chispa import assert_df_equality

from dtflw.lineage import LineageGraph
from dtflw.storage.base import FolderStorage

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / "notebooks" / "data" / "sample"
ORDERS = int(os.environ.get("DTFLW_CHAOS_ORDERS", "0"))  # 0: the small sample (CI); e.g. 50000: longer writes
TABLES = [
    "notebooks/bronze/ingest_orders/Orders.parquet",
    "notebooks/bronze/ingest_orders/OrderItems.parquet",
    "notebooks/bronze/ingest_customers/Customers.parquet",
    "notebooks/bronze/ingest_products/Products.parquet",
    "notebooks/silver/build_sales/SalesOrderItems.delta",
    "notebooks/gold/revenue_by_product/ProductRevenue.parquet",
    "notebooks/gold/revenue_by_region/RegionRevenue.parquet",
    "notebooks/gold/shipping_delays/ShippingDelays.parquet",
    "notebooks/gold/kpi_report/KpiReport.delta",
    "notebooks/analysis/main/MonthlyRevenue.parquet",
    "notebooks/analysis/main/CustomerSegments.parquet",
]
SIGNALS = [signal.SIGKILL] * 20 + [signal.SIGINT] * 5
SIGINT_GRACE = 10.0  # seconds a run may take to stop after Ctrl-C before it is killed (issue 10 item 8: 5 s)


def dtflw_run(storage: pathlib.Path, year: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "dtflw.cli", "run", str(REPO / "notebooks/main.py"), "--workspace-root", str(REPO),
        "--storage", str(storage), "--dbfs-root", str(storage.parent / "dbfs"), "--user", "tester",
        "--arg", f"year={year}", *extra,
    ]  # fmt: skip


def generate_raw(storage: pathlib.Path) -> None:
    """The sample raw CSVs, or ORDERS orders generated (same seed: the same data every time)."""
    if not ORDERS:
        shutil.copytree(SAMPLE, storage / "raw")
        return
    generator = REPO / "notebooks/data/generate.py"
    subprocess.run(
        [sys.executable, str(generator), "--out", str(storage / "raw"), "--orders", str(ORDERS)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def clean_run(folder: pathlib.Path, year: str) -> tuple[pathlib.Path, float]:
    storage = folder / "storage"
    generate_raw(storage)
    began = time.monotonic()
    done = subprocess.run(dtflw_run(storage, year), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return storage, time.monotonic() - began


def unreadable_files(storage: pathlib.Path) -> list[str]:
    problems = list(LineageGraph.load(FolderStorage(str(storage))).problems)
    for record in (storage / "_dtflw" / "state").glob("*.json"):
        try:
            json.loads(record.read_text())
        except ValueError as e:
            problems.append(f"{record}: {e}")
    return problems


def differences(spark, storage: pathlib.Path, clean: pathlib.Path) -> list[str]:
    found = []
    for table in TABLES:
        fmt = "delta" if table.endswith(".delta") else "parquet"
        try:
            actual = spark.read.format(fmt).load(str(storage / table))
            assert_df_equality(
                actual, spark.read.format(fmt).load(str(clean / table)), ignore_row_order=True, ignore_nullable=True
            )
        except Exception as e:
            found.append(f"{table}: {type(e).__name__}: {str(e)[:300]}")
    return found


@pytest.mark.slow
def test_the_example_pipeline_survives_25_interrupts(tmp_path, spark):
    clean = {year: clean_run(tmp_path / f"clean{year}", year) for year in ("2024", "2023")}
    full_run = max(seconds for _, seconds in clean.values())
    storage = tmp_path / "chaos" / "storage"
    generate_raw(storage)
    chance = random.Random(10)
    outcomes = []
    for trial, sig in enumerate(SIGNALS):
        year = ("2024", "2023")[(trial // 2) % 2]
        if trial % 2 == 0:
            now = time.time()
            for raw in (storage / "raw").iterdir():
                os.utime(raw, (now, now))  # new raw files: the bronze steps run again
        after = chance.uniform(0.3, full_run)
        process = subprocess.Popen(dtflw_run(storage, year), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(after)
        process.send_signal(sig)
        signalled = time.monotonic()
        try:
            process.wait(timeout=SIGINT_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stopped = round(time.monotonic() - signalled, 1)
        rerun = subprocess.run(dtflw_run(storage, year, "--lazy"), capture_output=True, text=True, timeout=300)
        problems = [] if rerun.returncode == 0 else [f"lazy run exited {rerun.returncode}: {rerun.stderr[-800:]}"]
        problems += differences(spark, storage, clean[year][0]) + unreadable_files(storage)
        outcomes.append((trial, sig.name, round(after, 2), stopped, problems))
    good = sum(1 for *_, problems in outcomes if not problems)
    print(f"\nchaos: {good}/{len(SIGNALS)} interrupted runs ended, after `dtflw run --lazy`, equal to a clean run")
    print("SIGINT: seconds to exit", [o[3] for o in outcomes if o[1] == "SIGINT"])
    assert good == len(SIGNALS), [o for o in outcomes if o[4]]
