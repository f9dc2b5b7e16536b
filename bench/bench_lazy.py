"""Lazy no-op re-run of the example pipeline vs a full run (goal: ≤ 5 % of the full run's time).

Both runs use the same in-process Sail engine (started and warmed up first), the committed sample
data and a fresh storage; the lazy run follows a full run with nothing changed, as `dtflw run --lazy`.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

from dtflw.core.options import RunOptions
from dtflw.engines import create_engine
from dtflw.local.workspace import LocalSettings, LocalWorkspace

REPO = pathlib.Path(__file__).resolve().parents[1]
GOAL = 0.05
ROUNDS = 3


def run(engine, storage: str, lazy: bool) -> float:
    workspace = LocalWorkspace(
        str(REPO),
        engine,
        LocalSettings(user="bench", storage_url=storage, dbfs_folder=storage + "-dbfs"),
        RunOptions(force_lazy=lazy),
    )
    started = time.perf_counter()
    workspace.run_file(str(REPO / "notebooks" / "main.py"))
    return time.perf_counter() - started


def main() -> int:
    devnull = open(os.devnull, "w")  # noqa: SIM115 - the notebooks' display() output is not the point here
    fulls, lazies = [], []
    with create_engine("sail") as engine, tempfile.TemporaryDirectory() as tmp:
        for i in range(ROUNDS + 1):
            storage = os.path.join(tmp, f"storage{i}")
            shutil.copytree(REPO / "notebooks" / "data" / "sample", os.path.join(storage, "raw"))
            stdout, sys.stdout = sys.stdout, devnull
            try:
                full = run(engine, storage, lazy=False)
                lazy = run(engine, storage, lazy=True)
            finally:
                sys.stdout = stdout
            if i:  # round 0 warms up Spark and the imports
                fulls.append(full)
                lazies.append(lazy)
    full, lazy = statistics.median(fulls), statistics.median(lazies)
    print(
        f"example pipeline: full run {full:.3f} s, lazy no-op re-run {lazy * 1000:.1f} ms = {lazy / full:.1%} (goal ≤ {GOAL:.0%})"
    )
    return 0 if lazy / full <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
