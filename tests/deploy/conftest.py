"""Deploy tests talk to the local Jobs API server only: no Databricks config of this machine is seen."""

from __future__ import annotations

import pathlib
import textwrap

import pytest


@pytest.fixture(autouse=True)
def _no_databricks_env(monkeypatch):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


CALLEE = """# Databricks notebook source
from dtflw import init_args, init_outputs

name = init_args("name")["name"].value
with open({marker!r}, "a") as f:
    f.write(name + "\\n")
dbutils.notebook.exit(name)
"""


def write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def orchestration(tmp_path):
    """p/main.py: an orchestration notebook that writes to DBFS and its storage before declaring a step."""
    marker = tmp_path / "callee-ran.txt"
    write(tmp_path / "p/step.py", CALLEE.format(marker=str(marker)))
    main_py = write(
        tmp_path / "p/main.py",
        """\
        # Databricks notebook source
        from dtflw import init_args, init_flow

        args = init_args({"year": "2024", "region": "north"})
        dbutils.fs.put("dbfs:/marker.txt", "planned", True)
        flow = init_flow()
        if not flow.ctx.storage.exists("raw/orders.csv"):
            flow.ctx.storage.write_text("raw/orders.csv", "id\\n1\\n")
        flow.notebook("step").args({"name": args["region"].value, "year": args["year"].value}).output("A").run()
        flow.notebook("step").args({"name": "b", "year": "2023"}).input("A").run()
        """,
    )
    return tmp_path, main_py, marker
