"""Issue 10 item 7: two `dtflw run` on one storage at once. Real concurrent processes: the second waits
or fails at once naming the holder; a holder killed with SIGKILL frees the storage."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from chispa import assert_df_equality

from dtflw.errors import StorageBusyError
from dtflw.storage.base import FolderStorage
from dtflw.storage.lease import lease_for

PRODUCE = """
import os, time
from dtflw import init_outputs
if os.environ.get("DTFLW_TEST_LOG"):
    open(os.environ["DTFLW_TEST_LOG"], "a").write("start\\n")
time.sleep(float(os.environ.get("DTFLW_TEST_PAUSE", "0")))
for name, out in init_outputs("A").items():
    spark.range(10).write.mode("overwrite").parquet(out.value)
"""
CONSUME = """
import os
from dtflw import init_inputs, init_outputs
source = spark.read.parquet(init_inputs("A")["A"].value)
source.selectExpr("id * 2 AS id").write.mode("overwrite").parquet(init_outputs("B")["B"].value)
if os.environ.get("DTFLW_TEST_LOG"):
    open(os.environ["DTFLW_TEST_LOG"], "a").write("end\\n")
"""
PIPELINE = """
from dtflw import init_flow
flow = init_flow()
flow.notebook("a").output("A").run()
flow.notebook("b").input("A").output("B").run()
"""


@pytest.fixture
def ws(workspace):
    workspace.write("p/a.py", PRODUCE)
    workspace.write("p/b.py", CONSUME)
    workspace.write("p/main.py", PIPELINE)
    return workspace


def start(ws, *extra, pause=0.0, log=""):
    command = [
        sys.executable, "-m", "dtflw.cli", "run", str(ws.root / "p/main.py"), "--workspace-root", str(ws.root),
        "--storage", str(ws.storage_folder), "--dbfs-root", str(ws.dbfs_folder), "--user", "tester", *extra,
    ]  # fmt: skip
    env = {**os.environ, "DTFLW_TEST_PAUSE": str(pause), "DTFLW_TEST_LOG": log}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def holder_of(ws) -> dict:
    """The holder a running `dtflw run` wrote into the lease file, once it has."""
    lease = ws.storage_folder / "_dtflw" / "lease"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if lease.exists() and lease.read_text():
            return json.loads(lease.read_text())
        time.sleep(0.05)
    raise AssertionError("no run took the lease")


def assert_b_complete(spark, ws):
    actual = spark.read.parquet(str(ws.storage_folder / "p/b/B.parquet"))
    expected = spark.createDataFrame([(i * 2,) for i in range(10)], "id long")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.slow
def test_a_second_run_fails_at_once_naming_the_run_that_holds_the_storage(ws, spark):
    first = start(ws, pause=20)
    holder = holder_of(ws)
    began = time.monotonic()
    second = start(ws)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 1 and time.monotonic() - began < 15
    assert "StorageBusyError" in err and f"pid {first.pid} on {socket.gethostname()}" in err
    assert f"run {holder['run_id']}" in err and "since 20" in err and str(ws.storage_folder) in err
    first.kill()
    first.wait()


@pytest.mark.slow
def test_concurrent_runs_waiting_for_the_storage_all_succeed_one_after_another(ws, spark, tmp_path):
    log = tmp_path / "pipelines.log"
    runs = [start(ws, "--wait-for-storage", "180", pause=1, log=str(log)) for _ in range(4)]
    results = [(r.wait(timeout=240), r.stderr.read()) for r in runs]
    assert [code for code, _ in results] == [0, 0, 0, 0], [err[-500:] for _, err in results]
    assert log.read_text().split() == ["start", "end"] * 4, "one pipeline at a time"
    assert_b_complete(spark, ws)
    assert (ws.storage_folder / "_dtflw" / "lease").read_text() == "", "the last run gave the lease back"


@pytest.mark.slow
def test_a_holder_killed_with_sigkill_frees_the_storage_at_once(ws, spark):
    first = start(ws, pause=60)
    holder_of(ws)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    second = start(ws)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert_b_complete(spark, ws)


def test_a_lease_waits_up_to_its_deadline_then_names_the_holder(tmp_path):
    storage = FolderStorage(str(tmp_path))
    with lease_for(storage, "run-1").held():
        began = time.monotonic()
        with pytest.raises(StorageBusyError, match=r"in use by run run-1 \(pid \d+ on .*, since .*UTC\)"):
            lease_for(storage, "run-2").held(wait=0.5)
        assert 0.5 <= time.monotonic() - began < 3
    with lease_for(storage, "run-2").held() as lease:
        assert lease.holder.run_id == "run-2"


def test_a_holder_that_has_not_named_itself_yet_is_reported_as_unknown(tmp_path):
    storage = FolderStorage(str(tmp_path))
    with lease_for(storage, "run-1").held():
        (tmp_path / "_dtflw" / "lease").write_text('{"host": "h", "pi')  # the holder is writing
        with pytest.raises(StorageBusyError, match=r"another run \(holder unknown\)"):
            lease_for(storage, "run-2").held()


def test_a_storage_reached_through_dbutils_has_no_lease():
    from types import SimpleNamespace

    from dtflw.storage.dbfs import DbfsStorage

    cluster_dbutils = SimpleNamespace(fs=SimpleNamespace())  # stands in for a cluster's dbutils: never called
    assert lease_for(DbfsStorage("analysis", dbutils=cluster_dbutils), "run-1") is None
