"""Export of a 1,000-step flow as a Databricks job must take <= 1 s.

The orchestration notebook declares 1,000 steps (a chain of 10 levels, each fanning out to 100
notebooks reading the level before, with args, retries, a timeout and tags). Timed, best of ROUNDS:
planning it (running no notebook) and turning the plan into Jobs API 2.2 settings as JSON text —
what `dtflw deploy export --format job` does after start-up — plus, for information, the settings
alone and the Asset Bundle's YAML. Exits non-zero when the export misses the target.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from dtflw.deploy.bundle import bundle_files, write_bundle
from dtflw.deploy.export import Compute, job_settings, to_json
from dtflw.deploy.tasks import planned_tasks
from dtflw.engines import create_engine
from dtflw.local.workspace import LocalSettings, LocalWorkspace

HEADER = "# Databricks notebook source\n"
LEVELS, WIDTH = 10, 100
ROUNDS = 5
TARGET = 1.0

MAIN = f"""
from dtflw import init_flow
flow = init_flow()
with flow.dag():
    for level in range({LEVELS}):
        for i in range({WIDTH}):
            nb = flow.notebook("step").args({{"level": level, "i": i}}).output(f"T{{level}}_{{i}}")
            if level:
                nb.input("Prev", source_table=f"T{{level - 1}}_{{i}}")
            nb.retries(2, backoff=30).timeout(3600).tags("bench").run()
"""


def best(function, rounds=ROUNDS) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, create_engine("sail") as engine:
        root = os.path.join(tmp, "ws", "p")
        os.makedirs(root)
        for name, source in (("step", "dbutils.notebook.exit('ok')\n"), ("main", MAIN)):
            with open(os.path.join(root, f"{name}.py"), "w") as f:
                f.write(HEADER + source)
        workspace = LocalWorkspace(
            os.path.dirname(root), engine, LocalSettings(user="bench@example.com", storage_url=tmp + "/s")
        )
        main_file = os.path.join(root, "main.py")
        planned_tasks(workspace, main_file)  # warm-up: the Spark session, parsed sources

        def export():
            tasks = planned_tasks(workspace, main_file)
            return tasks, to_json(job_settings(tasks, "bench", Compute(existing_cluster_id="0101-abc")))

        total, (tasks, text) = best(export)
        settings_only, _ = best(lambda: to_json(job_settings(tasks, "bench")))
        out = os.path.join(tmp, "bundle")
        bundle, _ = best(lambda: write_bundle(bundle_files(tasks, "bench", out, workspace.root), out))
    assert len(tasks) == LEVELS * WIDTH, len(tasks)
    print(f"steps: {len(tasks)}, job JSON {len(text) / 1e6:.2f} MB")
    print(f"export --format job (plan + settings + JSON): {total:.3f} s (target <= {TARGET} s)")
    print(f"  settings + JSON from the planned tasks: {settings_only * 1000:.1f} ms")
    print(f"  bundle YAML from the planned tasks: {bundle:.3f} s")
    if total > TARGET:
        print(f"MISSED: export took {total:.3f} s > {TARGET} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
