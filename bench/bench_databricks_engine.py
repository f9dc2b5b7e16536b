"""The `databricks` engine (databricks-connect) against a local Sail server vs the `sail` engine, on the
example pipeline — the goal (issue 20): `dtflw run notebooks/main.py --engine databricks` takes at most
GOAL× the wall time of the default sail engine (whole processes, alternating, median); exits 1 when
missed. Also: the in-process run time ratio (noisy on a loaded machine: a few ms per notebook either way),
per-notebook overhead and session creation time; and the wall time of the user example tests.

The databricks engine runs in its own environment (`.venv-databricks`, made by `make test`/`make bench`),
as a subprocess running this file with `--worker URL`; the Sail server it talks to runs in this process.
Each side: engine start (to the first session), then a warm-up run and ROUNDS timed runs of notebooks/main.py
on fresh storages (median). Per-notebook overhead = (databricks − sail) / notebook sessions of one run.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DBC_PYTHON = REPO / ".venv-databricks" / "bin" / "python"
ROUNDS = 7
CLI_ROUNDS = 7
GOAL = 1.2


def run_pipeline(engine_name: str, url: str | None = None) -> dict:
    """Start the engine, then time warm-up + ROUNDS runs of the example pipeline (in this process)."""
    from dtflw.engines import create_engine
    from dtflw.lineage import LineageGraph
    from dtflw.local.workspace import LocalSettings, LocalWorkspace
    from dtflw.storage import from_url

    devnull = open(os.devnull, "w")  # noqa: SIM115 - the notebooks' display() output is not the point here
    times = []
    started = time.perf_counter()
    with create_engine(engine_name, url=url) as engine, tempfile.TemporaryDirectory() as tmp:
        engine.session  # noqa: B018 - the engine's start, to its first session
        start = time.perf_counter() - started
        for i in range(ROUNDS + 1):
            storage = os.path.join(tmp, f"storage{i}")
            shutil.copytree(REPO / "notebooks" / "data" / "sample", os.path.join(storage, "raw"))
            workspace = LocalWorkspace(
                str(REPO), engine, LocalSettings(user="bench", storage_url=storage, dbfs_folder=storage + "-dbfs")
            )
            stdout, sys.stdout = sys.stdout, devnull
            t = time.perf_counter()
            try:
                workspace.run_file(str(REPO / "notebooks" / "main.py"))
            finally:
                sys.stdout = stdout
            if i:  # round 0 warms up imports and the server
                times.append(time.perf_counter() - t)
        sessions = len(LineageGraph.load(from_url(storage)).runs) + 1  # the called notebooks, and main
        created = []
        for _ in range(20):
            t = time.perf_counter()
            engine.new_session().stop()
            created.append(time.perf_counter() - t)
    return {"start": start, "run": statistics.median(times), "sessions": sessions, "new": statistics.median(created)}


def cli_wall_times(url: str) -> tuple[float, float]:
    """Median wall time of whole `dtflw run notebooks/main.py` processes: sail engine, databricks engine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env["DATABRICKS_CONFIG_FILE"] = os.devnull
    commands = {
        "sail": [str(REPO / ".venv" / "bin" / "dtflw"), "run", str(REPO / "notebooks" / "main.py")],
        "databricks": [str(DBC_PYTHON.parent / "dtflw"), "run", str(REPO / "notebooks" / "main.py")]
        + ["--engine", "databricks", "--remote-url", url],
    }
    times: dict[str, list[float]] = {"sail": [], "databricks": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(CLI_ROUNDS + 1):
            for name, command in commands.items():
                storage = os.path.join(tmp, f"{name}{i}")
                shutil.copytree(REPO / "notebooks" / "data" / "sample", os.path.join(storage, "raw"))
                t = time.perf_counter()
                subprocess.run(command + ["--storage", storage], cwd=tmp, env=env, capture_output=True, check=True)
                if i:  # round 0 warms the file cache
                    times[name].append(time.perf_counter() - t)
    return statistics.median(times["sail"]), statistics.median(times["databricks"])


def databricks_side(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env["DATABRICKS_CONFIG_FILE"] = os.devnull  # Spark at the sc:// URL; no workspace for dbutils
    started = time.perf_counter()
    out = subprocess.run(
        [str(DBC_PYTHON), __file__, "--worker", url], env=env, capture_output=True, text=True, check=True
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["process"] = time.perf_counter() - started
    return figures


def example_tests_wall_time() -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "notebooks/tests", "-q", "-p", "no:cacheprovider", "--dtflw-engine", "sail"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, out.stdout.strip().splitlines()[-1]


def main() -> int:
    if not DBC_PYTHON.exists():
        print(f"skipped: no databricks-connect environment at {DBC_PYTHON} (`make .venv-databricks/.installed`)")
        return 1
    os.environ.setdefault("RUST_LOG", "error")
    from pysail.spark import SparkConnectServer

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start()
    try:
        ip, port = server.listening_address
        url = f"sc://{ip}:{port}"
        databricks = databricks_side(url)
        sail_cli, databricks_cli = cli_wall_times(url)
    finally:
        server.stop()
    sail = run_pipeline("sail")
    ratio = databricks["run"] / sail["run"]
    overhead = (databricks["run"] - sail["run"]) / sail["sessions"]
    cli_ratio = databricks_cli / sail_cli
    met = cli_ratio <= GOAL
    print(
        f"`dtflw run notebooks/main.py` wall time (median of {CLI_ROUNDS}): sail {sail_cli:.2f} s, "
        f"--engine databricks → local Sail {databricks_cli:.2f} s = ×{cli_ratio:.2f} "
        f"(goal ≤ ×{GOAL}: {'met' if met else 'MISSED'})"
    )
    print(
        f"example pipeline in-process ({sail['sessions']} notebook sessions, median of {ROUNDS}): "
        f"sail {sail['run']:.3f} s, databricks {databricks['run']:.3f} s = ×{ratio:.2f}; "
        f"overhead {overhead * 1000:+.1f} ms per notebook"
    )
    print(
        f"new notebook session (+ stop): sail {sail['new'] * 1000:.1f} ms, databricks {databricks['new'] * 1000:.1f} ms;"
        f" engine start to first session: sail {sail['start']:.3f} s, databricks {databricks['start']:.3f} s "
        f"(databricks worker process, with imports: {databricks['process']:.1f} s)"
    )
    wall, summary = example_tests_wall_time()
    print(f"user example tests (notebooks/tests, Sail, whole pytest process): {wall:.2f} s — {summary}")
    return 0 if met else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(run_pipeline("databricks", url=sys.argv[2])))
        sys.exit(0)
    sys.exit(main())
