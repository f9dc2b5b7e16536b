"""Whole `dtflw run` processes, as a user starts them (goals of the architecture issue):

- a lazy re-run of the example pipeline with nothing to do vs a full run: ≤ 15 % (the no-op run
  imports no pyspark and starts no Spark engine), and ≤ 1.5× the cold start `python -c "import dtflw.cli"`;
- framework cost per trivial callee (a notebook that never touches Spark): a run of 40 such callees
  minus a run of none, per callee: ≤ 1 ms.

The lazy ratio is of medians of ROUNDS runs; the per-callee cost of the best of ROUNDS runs
(less noise from other work on the machine), interleaved. The processes may write
bytecode caches (as an installed package has them), whatever PYTHONDONTWRITEBYTECODE says here.
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
COLD_START_GOAL = 1.5
CALLEE_GOAL_MS = 1.0
CALLEES = 40
ROUNDS = 5


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONWARNINGS": "ignore"}


def timed(*args: str, cwd: str, command=DTFLW) -> float:
    started = time.perf_counter()
    subprocess.run(
        [*command, *args], cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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
        fulls, lazies, imports = [], [], []
        for i in range(-1, ROUNDS):  # round -1 warms the bytecode and file caches
            storage = root / f"storage{i}"
            shutil.copytree(REPO / "notebooks" / "data" / "sample", storage / "raw")
            args = ("run", str(REPO / "notebooks" / "main.py"), "--storage", str(storage))
            full, lazy = timed(*args, cwd=tmp), timed(*args, "--lazy", cwd=tmp)
            cold = timed("-c", "import dtflw.cli", cwd=tmp, command=[sys.executable])
            if i >= 0:
                fulls.append(full)
                lazies.append(lazy)
                imports.append(cold)
        full, lazy, cold = statistics.median(fulls), statistics.median(lazies), statistics.median(imports)
        print(f"example pipeline, whole processes: full run {full:.2f} s, lazy no-op {lazy:.2f} s = {lazy / full:.1%}")
        print(f"lazy no-op vs the cold start of `import dtflw.cli` ({cold:.3f} s): {lazy / cold:.2f}x")

        none, many = write_callees(root, 0), write_callees(root, CALLEES)
        zero, forty = [], []
        for i in range(-1, ROUNDS):
            for folder, times in ((none, zero), (many, forty)):
                seconds = timed("run", str(folder / "p" / "main.py"), "--storage", str(root / f"s{i}"), cwd=tmp)
                if i >= 0:
                    times.append(seconds)
        per_callee_ms = (min(forty) - min(zero)) / CALLEES * 1000  # best of ROUNDS, as timeit: least noise
        print(
            f"trivial callees (best of {ROUNDS}): {min(zero):.3f} s with none, {min(forty):.3f} s with "
            f"{CALLEES}: {per_callee_ms:.2f} ms per callee"
        )
    ok = lazy / full <= LAZY_GOAL and lazy / cold <= COLD_START_GOAL and per_callee_ms <= CALLEE_GOAL_MS
    goals = f"lazy ≤ {LAZY_GOAL:.0%} and ≤ {COLD_START_GOAL}x the cold start, per callee ≤ {CALLEE_GOAL_MS} ms"
    print(f"goals: {goals}: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
