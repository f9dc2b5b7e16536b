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
