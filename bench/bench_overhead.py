"""Framework overhead per notebook run with the local runtime (goal: median ≤ 5 ms beyond the cells).

An orchestration notebook runs 50 trivial notebooks through a flow (`flow.notebook(...).run()`);
each trivial notebook's only cell is `x = 1`, so the time of a step minus the time spent executing
its cells is dtflw's overhead: resolving paths, checking tables, the runner, a fresh widget scope
and Spark session, parsing and compiling the source, events. A second round gives each notebook
one input and one output table, to show the cost of the table checks: each notebook copies a small
parquet file (written once with pyarrow) into its output's folder, so that its output is written by
this run, as dtflw requires.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile

from dtflw.core.options import RunOptions
from dtflw.engines import create_engine
from dtflw.events import FlowListener
from dtflw.local.workspace import LocalSettings, LocalWorkspace

NOTEBOOKS = 50
GOAL_MS = 5.0
HEADER = "# Databricks notebook source\n"


class StepTimer(FlowListener):
    def __init__(self):
        self.durations = []

    def on_notebook_end(self, flow, run):
        self.durations.append(run.duration)


def write(root: str, name: str, body: str) -> None:
    with open(os.path.join(root, name + ".py"), "w") as f:
        f.write(HEADER + body + "\n")


def measure(engine, with_tables: bool) -> list[float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "ws", "bench")
        os.makedirs(root)
        storage = os.path.join(tmp, "storage")
        seed = os.path.join(storage, "seed", "T.parquet", "part-0.parquet")
        os.makedirs(os.path.dirname(seed))
        pq.write_table(pa.table({"x": [1]}), seed)
        copy = (
            "import os, shutil\nfrom dtflw import init_outputs\n"
            f"out = init_outputs('T')['T'].value\nos.makedirs(out, exist_ok=True)\nshutil.copy({seed!r}, out)"
        )
        for i in range(NOTEBOOKS):
            write(root, f"nb{i}", copy if with_tables else "x = 1")
        steps = []
        for i in range(NOTEBOOKS):
            step = f'flow.notebook("nb{i}")'
            if with_tables:
                step += '.input("Seed", file_path="seed/T.parquet").output("T")'
            steps.append(step + ".run()")
        write(root, "main", "from dtflw import init_flow\nflow = init_flow()\n" + "\n".join(steps))
        timer = StepTimer()
        workspace = LocalWorkspace(
            os.path.join(tmp, "ws"),
            engine,
            LocalSettings(user="bench", storage_url=storage, dbfs_folder=os.path.join(tmp, "dbfs")),
            RunOptions(listeners=[timer]),
        )
        workspace.run_file(os.path.join(root, "main.py"))
        return timer.durations


def main() -> int:
    with create_engine("sail") as engine:
        engine.session.sql("SELECT 1").collect()
        measure(engine, False)  # warm-up: imports, first session
        plain = measure(engine, False)
        tables = measure(engine, True)
    cell_ms = 0.001  # `x = 1`
    report = []
    for label, durations in (("trivial notebooks", plain), ("with 1 input + 1 output", tables)):
        ms = sorted(d * 1000 - cell_ms for d in durations)
        report.append((label, statistics.median(ms), ms[int(len(ms) * 0.9)]))
        print(f"{label}: median {report[-1][1]:.2f} ms, p90 {report[-1][2]:.2f} ms per notebook over {len(ms)} runs")
    print(f"goal: median ≤ {GOAL_MS} ms for trivial notebooks")
    return 0 if report[0][1] <= GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
