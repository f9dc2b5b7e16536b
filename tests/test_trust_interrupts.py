"""Issue 18 point 8: Ctrl-C at any moment of a real `dtflw` process — while its imports run, while it sets up,
while its notebooks run — exits 130 with one line and no traceback; after a forced second Ctrl-C the next
run on the storage records the abandoned flow run `cancelled` instead of leaving it `running`."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from testkit import notebook_source

DTFLW = os.path.join(os.path.dirname(sys.executable), "dtflw")
MAIN = """
from dtflw import init_flow
flow = init_flow()
flow.notebook("stubborn").run()
"""
STUBBORN = "import time\ntry:\n    time.sleep(float(__import__('os').environ['DTFLW_TEST_PAUSE']))\nfinally:\n    time.sleep(600)"


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "ws" / "p"
    root.mkdir(parents=True)
    (root / "main.py").write_text(notebook_source(MAIN))
    (root / "stubborn.py").write_text(notebook_source(STUBBORN))
    return tmp_path


def start(project, pause: float = 600, **env):
    """`dtflw run` through its console script, as a user starts it; PYTHONPROFILEIMPORTTIME tells us when the
    interpreter is done starting (a Ctrl-C before Python's own startup ends is Python's to answer)."""
    command = [DTFLW, "run", str(project / "ws/p/main.py"), "--storage", str(project / "storage"), "--user", "u"]
    env = {**os.environ, "DTFLW_TEST_PAUSE": str(pause), **env}
    return subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def entered_dtflw(process) -> list[str]:
    """Read stderr until the command's entry point is imported; the lines read."""
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.rstrip().endswith("| _dtflw_cli"):
            return lines
    raise AssertionError("the entry point was never imported: " + "".join(lines))


def documents(project) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((project / "storage" / "_dtflw" / "runs").glob("*.json"))]


def test_ctrl_c_at_random_early_moments_exits_130_with_one_line_and_no_traceback(project):
    rng = random.Random(18)
    moments = sorted(rng.uniform(0.0, 0.35) for _ in range(10)) + [0.0, 0.0]
    for moment in moments:
        process = start(project, pause=0.2, PYTHONPROFILEIMPORTTIME="1")
        read = entered_dtflw(process)
        time.sleep(moment)
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
        err = [line for line in "".join(read).splitlines() + rest.splitlines() if not line.startswith("import time:")]
        said = f"Ctrl-C {moment:.3f} s after the entry point: {err}"
        assert process.returncode == 130, said
        assert "Traceback" not in rest and "Aborted" not in rest, said
        assert len([line for line in err if line.startswith("✖")]) == 1, said


def test_after_a_forced_second_ctrl_c_the_next_run_records_the_abandoned_flow_cancelled(project):
    first = start(project)
    deadline = time.monotonic() + 60
    while not any("running  /Users/u/p/stubborn" in line for line in [first.stderr.readline()]):
        assert time.monotonic() < deadline and first.poll() is None, "the notebook never started"
    time.sleep(0.5)
    first.send_signal(signal.SIGINT)
    time.sleep(0.3)
    first.send_signal(signal.SIGINT)  # exits at once: nothing gets to end the flow
    assert first.wait(30) == 130
    (left,) = documents(project)
    assert left["flow_run"]["status"] == "running", "the forced exit left the flow open"

    second = start(project, pause=0)
    second.stdout.close()
    deadline = time.monotonic() + 60
    while documents(project)[0]["flow_run"]["status"] == "running":
        assert time.monotonic() < deadline, "the abandoned flow run stayed running"
        time.sleep(0.1)
    second.kill()
    second.wait()
    abandoned = next(d for d in documents(project) if d["flow_run"]["run_id"] == left["flow_run"]["run_id"])
    assert abandoned["flow_run"]["status"] == "cancelled" and abandoned["flow_run"]["ended"] is not None
    ((rel_path, status, error),) = [(r["rel_path"], r["status"], r["error"]) for r in abandoned["notebook_runs"]]
    assert (rel_path, status) == ("stubborn", "cancelled")
    assert f"(pid {first.pid} on " in error and "ended without closing this run" in error


def lineage_document(run_id: str, started: float, status: str, runs=()) -> str:
    notebook_runs = [
        {"run_id": f"{run_id}-{i}", "flow_run_id": run_id, "notebook_path": "/Users/u/p/nb", "rel_path": "nb",
         "status": s, "started": started, "ended": None if s == "running" else started + 1, "error": None}
        for i, s in enumerate(runs)
    ]  # fmt: skip
    flow = {"run_id": run_id, "notebook_path": "/Users/u/p/main", "storage_url": "", "root_dir": "",
            "started": started, "ended": None if status == "running" else started + 1, "status": status}  # fmt: skip
    return json.dumps({"format": "dtflw-lineage", "version": 1, "flow_run": flow, "notebook_runs": notebook_runs})


def test_taking_the_lease_a_dead_run_left_ends_its_running_flows_cancelled_and_nothing_else(tmp_path):
    from dtflw.lineage.abandoned import close_abandoned_runs
    from dtflw.storage.base import FolderStorage
    from dtflw.storage.lease import RunLeases

    runs = tmp_path / "_dtflw" / "runs"
    runs.mkdir(parents=True)
    dead = {"host": "h", "pid": 4242, "run_id": "dead-run", "since": 1000.0}
    (tmp_path / "_dtflw" / "lease").write_text(json.dumps(dead))  # what a run killed holding the lease leaves
    (runs / "mine.json").write_text(lineage_document("mine", 1010.0, "running", ["running", "succeeded"]))
    (runs / "older.json").write_text(lineage_document("older", 900.0, "running", ["running"]))
    (runs / "done.json").write_text(lineage_document("done", 1020.0, "succeeded", ["succeeded"]))
    (runs / "broken.json").write_text('{"format": "dtflw-lin')
    closed = []
    with RunLeases("next", on_abandoned=lambda s, h: closed.append(close_abandoned_runs(s, h))) as leases:
        leases.hold(FolderStorage(str(tmp_path)))
        leases.hold(FolderStorage(str(tmp_path)))  # held already: nothing to close again
    assert closed == [["mine"]]
    mine = json.loads((runs / "mine.json").read_text())
    assert mine["flow_run"]["status"] == "cancelled" and mine["flow_run"]["ended"] > 1010
    assert [(r["status"], r["error"]) for r in mine["notebook_runs"]] == [
        (
            "cancelled",
            "cancelled: run dead-run (pid 4242 on h, since 1970-01-01 00:16:40 UTC) ended without closing this run",
        ),
        ("succeeded", None),
    ]
    assert json.loads((runs / "older.json").read_text())["flow_run"]["status"] == "running", "not the dead run's"
    assert json.loads((runs / "done.json").read_text())["flow_run"]["status"] == "succeeded"
    with RunLeases("after", on_abandoned=lambda s, h: closed.append(h)) as leases:
        leases.hold(FolderStorage(str(tmp_path)))
    assert closed == [["mine"]], "a lease given back names no dead holder"
