"""How the databricks suite reaches the main environment: its Python, and a Sail server run by it."""

from __future__ import annotations

import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
SAIL_SERVER = """
import os, sys
os.environ.setdefault("RUST_LOG", "error")
from pysail.spark import SparkConnectServer
server = SparkConnectServer(ip="127.0.0.1", port=0)
server.start()
print("sc://%s:%d" % server.listening_address, flush=True)
sys.stdin.read()  # serve until the test session closes our stdin
"""


def main_python() -> str:
    """The Python of the main environment (pyspark + pysail): $DTFLW_SAIL_PYTHON, else ./.venv."""
    return os.environ.get("DTFLW_SAIL_PYTHON") or str(REPO / ".venv" / "bin" / "python")


def plain_sail_run(folder: pathlib.Path, timeout: int = 300) -> dict[str, str]:
    """Run the example pipeline with `dtflw run` (sail engine) in the main environment, on a storage
    in `folder` holding the sample data; returns the paths of its tables."""
    import json
    import shutil
    import subprocess

    shutil.copytree(REPO / "notebooks" / "data" / "sample", folder / "storage" / "raw")
    command = [main_python(), "-m", "dtflw.cli", "run", str(REPO / "notebooks" / "main.py")]
    command += ["--storage", str(folder / "storage"), "--user", "u@x.y"]
    run = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])["tables"]
