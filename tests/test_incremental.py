"""Incremental runs and resume: skip only when outputs are complete and nothing they depend on changed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dtflw.lineage import LineageGraph
from dtflw.storage.base import FolderStorage

PRODUCE = """
from dtflw import init_inputs, init_outputs
dbutils.widgets.text("factor", "1")
factor = int(dbutils.widgets.get("factor"))
names = [w[:-3] for w in dbutils.widgets.getAll() if w.endswith("_in")]
base = spark.range(3)
for name, table in init_inputs(*names).items():
    base = spark.read.parquet(table.value) if table.value.endswith(".parquet") else base
for name, out in init_outputs(*[w[:-4] for w in dbutils.widgets.getAll() if w.endswith("_out")]).items():
    base.selectExpr(f"id * {factor} AS id").write.mode("overwrite").parquet(out.value)
"""

PIPELINE = """
from dtflw import init_flow, init_args
args = init_args({"factor": "1"})
flow = init_flow()
flow.notebook("a").args({"factor": args["factor"].value}).output("A").run(is_lazy=True)
flow.notebook("b").input("A").output("B").run(is_lazy=True)
flow.notebook("c").input("B").output("C").run(is_lazy=True)
"""


@pytest.fixture
def ws(chain_workspace):
    return chain_workspace(PRODUCE, PIPELINE)


def test_every_decision_is_explained(ws, decisions):
    ws.run("p/main.py")
    assert decisions.take() == {
        "a": ("succeeded", "output A missing"),
        "b": ("succeeded", "output B missing"),
        "c": ("succeeded", "output C missing"),
    }
    ws.run("p/main.py")
    assert decisions.take() == {n: ("skipped", "up to date") for n in "abc"}

    ws.run("p/main.py", {"factor": "2"})
    runs = decisions.take()
    assert runs["a"] == ("succeeded", "args changed: factor")
    assert runs["b"][0] == "succeeded" and runs["b"][1].startswith("input A changed ")
    assert runs["c"][0] == "succeeded" and runs["c"][1].startswith("input B changed ")

    (ws.root / "p/b.py").write_text((ws.root / "p/b.py").read_text() + "\n# a comment changes the source\n")
    ws.run("p/main.py", {"factor": "2"})
    runs = decisions.take()
    assert runs["a"] == ("skipped", "up to date")
    assert runs["b"] == ("succeeded", "notebook source changed")


def test_a_change_in_a_notebook_included_with_percent_run_reruns_the_includer(ws, decisions):
    ws.write("p/shared/helpers.py", "OFFSET = 0")
    ws.write("p/shared/deeper.py", "SCALE = 1")
    ws.write("p/shared/helpers.py", "%run ./deeper", "OFFSET = 0")
    ws.write("p/b.py", "%run ./shared/helpers", PRODUCE)
    ws.run("p/main.py")
    ws.run("p/main.py")
    assert decisions.take()["b"] == ("skipped", "up to date")
    ws.write("p/shared/deeper.py", "SCALE = 2")
    ws.run("p/main.py")
    runs = decisions.take()
    assert runs["a"] == ("skipped", "up to date")
    assert runs["b"] == ("succeeded", "notebook source changed")


def test_without_history_existing_outputs_are_taken_as_up_to_date(ws, decisions):
    ws.run("p/main.py")
    decisions.take()
    for doc in (ws.storage_folder / "_dtflw" / "state").iterdir():
        doc.unlink()
    ws.run("p/main.py")
    assert decisions.take() == {n: ("skipped", "outputs exist (no run history)") for n in "abc"}
    ws.run("p/main.py")
    assert decisions.take() == {n: ("skipped", "up to date") for n in "abc"}


def test_resume_runs_only_the_failed_notebook_and_what_is_downstream(ws, decisions):
    good_b = (ws.root / "p/b.py").read_text()
    (ws.root / "p/b.py").write_text(good_b.replace("from dtflw", "raise RuntimeError('b is broken')\nfrom dtflw", 1))
    with pytest.raises(Exception, match="b is broken"):
        ws.run("p/main.py")
    assert {n: s for n, (s, _) in decisions.take().items()} == {"a": "succeeded", "b": "failed"}
    (ws.root / "p/b.py").write_text(good_b)
    ws.run("p/main.py")
    runs = decisions.take()
    assert runs["a"] == ("skipped", "up to date")
    assert runs["b"][0] == "succeeded" and runs["c"][0] == "succeeded"


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_without_redoing_complete_work(ws, tmp_path):
    ws.write(
        "p/b.py",
        "import time\ntime.sleep(float(dbutils.widgets.get('pause')) if 'pause' in dbutils.widgets.getAll() else 0)",
        PRODUCE,
    )
    ws.write(
        "p/main.py",
        PIPELINE.replace('flow.notebook("b")', 'flow.notebook("b").args({"pause": args["pause"].value})').replace(
            '{"factor": "1"}', '{"factor": "1", "pause": "0"}'
        ),
    )
    command = [
        sys.executable, "-m", "dtflw.cli", "run", str(ws.root / "p/main.py"),
        "--workspace-root", str(ws.root), "--storage", str(ws.storage_folder), "--dbfs-root", str(ws.dbfs_folder),
        "--user", "tester", "--lazy",
    ]  # fmt: skip
    process = subprocess.Popen(
        [*command, "--arg", "pause=60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    while not (ws.storage_folder / "p/a/A.parquet").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (ws.storage_folder / "p/b/B.parquet").exists()

    rerun = subprocess.run([*command, "--arg", "pause=0"], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "skipped  /Users/tester/p/a" in rerun.stderr and "(up to date)" in rerun.stderr
    assert "done     /Users/tester/p/b" in rerun.stderr and "done     /Users/tester/p/c" in rerun.stderr
    graph = LineageGraph.load(FolderStorage(str(ws.storage_folder)))
    assert graph.problems == [], "the run history of the killed run is readable"
    assert len(graph.flows) == 2 and [r.status.value for r in graph.runs_of("a")] == ["succeeded", "skipped"]
