"""Whole `dtflw run` processes, as a user starts them (goals of the architecture issue):

- a lazy re-run of the example pipeline with nothing to do vs a full run: ≤ 15 % (the no-op run
  imports no pyspark and starts no Spark engine);
- framework cost per trivial callee (a notebook that never touches Spark): a run of 40 such callees
  minus a run of none, per callee: ≤ 1 ms.

Each figure is the median of ROUNDS runs, interleaved, on this machine.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DTFLW = [sys.executable, "-m", "dtflw.cli"]
LAZY_GOAL = 0.15
CALLEE_GOAL_MS = 1.0
CALLEES = 40
ROUNDS = 5


def timed(*args: str, cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run([*DTFLW, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def write_callees(root: pathlib.Path, count: int) -> pathlib.Path:
    folder = root / f"n{count}"
    (folder / "p").mkdir(parents=True)
    calls = "".join(f'flow.notebook("callee").args({{"i": {i}}}).run()\n' for i in range(count))
    (folder / "p" / "main.py").write_text(
        "# Databricks notebook source\nfrom dtflw import init_flow\n\nflow = init_flow()\n" + calls
    )
    (folder / "p" / "callee.py").write_text('# Databricks notebook source\ndbutils.notebook.exit("ok")\n')
    return folder


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        fulls, lazies = [], []
        for i in range(ROUNDS):
            storage = root / f"storage{i}"
            shutil.copytree(REPO / "notebooks" / "data" / "sample", storage / "raw")
            args = ("run", str(REPO / "notebooks" / "main.py"), "--storage", str(storage))
            fulls.append(timed(*args, cwd=tmp))
            lazies.append(timed(*args, "--lazy", cwd=tmp))
        full, lazy = statistics.median(fulls), statistics.median(lazies)
        print(f"example pipeline, whole processes: full run {full:.2f} s, lazy no-op {lazy:.2f} s = {lazy / full:.1%}")

        none, many = write_callees(root, 0), write_callees(root, CALLEES)
        zero, forty = [], []
        for i in range(ROUNDS):
            for folder, times in ((none, zero), (many, forty)):
                times.append(timed("run", str(folder / "p" / "main.py"), "--storage", str(root / f"s{i}"), cwd=tmp))
        per_callee_ms = (statistics.median(forty) - statistics.median(zero)) / CALLEES * 1000
        print(
            f"trivial callees: {statistics.median(zero):.3f} s with none, {statistics.median(forty):.3f} s with "
            f"{CALLEES}: {per_callee_ms:.2f} ms per callee"
        )
    ok = lazy / full <= LAZY_GOAL and per_callee_ms <= CALLEE_GOAL_MS
    print(f"goals: lazy ≤ {LAZY_GOAL:.0%}, per callee ≤ {CALLEE_GOAL_MS} ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
