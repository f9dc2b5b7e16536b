"""Issue 18 point 4: one writer per storage, however the storage was chosen. Real `dtflw run` processes on a
storage the orchestration notebook passes to `init_flow(...)` itself (not `--storage`): the second run is
refused naming the first, or waits for it; nested notebooks of one run on that storage do not deadlock; a
folder where the lease file belongs is a typed error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from testkit import notebook_source

from dtflw.errors import StorageBusyError, StorageLeaseError
from dtflw.storage import from_url
from dtflw.storage.base import FolderStorage
from dtflw.storage.lease import RunLeases

MAIN = """
import os
from dtflw import init_flow
flow = init_flow(os.environ["DTFLW_TEST_SHARED"])
flow.notebook("step").run()
"""
# The step opens the same storage again (a nested notebook of the same run), logs, and sleeps.
STEP = """
import os, time
from dtflw import init_flow
init_flow("file://" + os.environ["DTFLW_TEST_SHARED"])
open(os.environ["DTFLW_TEST_LOG"], "a").write("start\\n")
time.sleep(float(os.environ["DTFLW_TEST_PAUSE"]))
open(os.environ["DTFLW_TEST_LOG"], "a").write("end\\n")
"""


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "ws" / "p"
    root.mkdir(parents=True)
    (root / "main.py").write_text(notebook_source(MAIN))
    (root / "step.py").write_text(notebook_source(STEP))
    return tmp_path


def start(project, name: str, *extra: str, pause: float = 0.0):
    """A `dtflw run` whose own `--storage` is its alone; the notebook opens the shared one."""
    command = [
        sys.executable, "-m", "dtflw.cli", "run", str(project / "ws/p/main.py"),
        "--storage", str(project / f"own-{name}"), "--user", "tester", *extra,
    ]  # fmt: skip
    env = {
        **os.environ,
        "DTFLW_TEST_SHARED": str(project / "shared"),
        "DTFLW_TEST_LOG": str(project / "log"),
        "DTFLW_TEST_PAUSE": str(pause),
    }
    return subprocess.Popen(command, env=env, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_holder(project) -> dict:
    lease = project / "shared" / "_dtflw" / "lease"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if lease.exists() and lease.read_text():
            return json.loads(lease.read_text())
        time.sleep(0.05)
    raise AssertionError("no run took the lease of the storage the notebook chose")


def test_a_second_run_on_a_storage_the_notebook_chose_is_refused_naming_the_first(project):
    first = start(project, "a", pause=15)
    holder = wait_for_holder(project)
    second = start(project, "b")
    _, err = second.communicate(timeout=90)
    assert second.returncode == 1, err
    assert "StorageBusyError" in err and f"run {holder['run_id']} (pid {first.pid} " in err, err
    assert str(project / "shared") in err and "Traceback" not in err
    assert (project / "log").read_text() == "start\n", "the refused run ran nothing"
    first.kill()
    first.wait()


@pytest.mark.slow
def test_runs_waiting_for_a_storage_the_notebook_chose_run_one_after_another(project):
    runs = [start(project, name, "--wait-for-storage", "120", pause=1) for name in "abc"]
    results = [(run.wait(timeout=180), run.stderr.read()) for run in runs]
    assert [code for code, _ in results] == [0, 0, 0], [err[-800:] for _, err in results]
    assert (project / "log").read_text().split() == ["start", "end"] * 3, "one run on the storage at a time"
    assert (project / "shared" / "_dtflw" / "lease").read_text() == "", "the last run gave the lease back"


def test_a_folder_where_the_lease_file_belongs_is_a_typed_error(project):
    (project / "shared" / "_dtflw" / "lease").mkdir(parents=True)
    run = start(project, "a")
    _, err = run.communicate(timeout=90)
    assert run.returncode == 1, err
    assert "StorageLeaseError" in err and f"{project / 'shared' / '_dtflw' / 'lease'} is a folder" in err, err
    assert "Traceback" not in err and not (project / "log").exists(), "nothing ran"


def test_a_run_takes_a_storage_it_holds_again_from_any_thread_and_gives_it_back_at_its_end(tmp_path):
    storage = FolderStorage(str(tmp_path / "s"))
    with RunLeases("run-1") as mine:
        taken = []
        threads = [threading.Thread(target=lambda: taken.append(mine.hold(storage))) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(taken) == 4 and len({id(lease) for lease in taken}) == 1, "one lease, taken once"
        assert mine.hold(from_url("file://" + str(tmp_path / "s/"))) is taken[0], "another object, same storage"
        with pytest.raises(StorageBusyError, match="in use by run run-1"):
            RunLeases("run-2").hold(storage)
    with RunLeases("run-2") as theirs:
        assert theirs.hold(storage).holder.run_id == "run-2"


def test_a_lease_file_that_cannot_be_opened_is_a_typed_error(tmp_path):
    (tmp_path / "s" / "_dtflw").mkdir(parents=True)
    (tmp_path / "s" / "_dtflw" / "lease").mkdir()
    with pytest.raises(StorageLeaseError, match=r"lease of storage .* is a folder\. It must be a file"):
        RunLeases("run-1").hold(FolderStorage(str(tmp_path / "s")))


@pytest.mark.parametrize(
    "left",
    ['{"host": "h", "pid": 1, "run_id": "r", "since": 1e308}', '{"host": "h", "pid": 1, "run_id": "r", "since": NaN}',
     '[1, 2]', '{"pid": "x"}', "\u0000garbage"],
)  # fmt: skip
def test_a_lease_file_that_names_no_valid_holder_is_not_trusted(tmp_path, left):
    (tmp_path / "_dtflw").mkdir()
    (tmp_path / "_dtflw" / "lease").write_text(left)
    dead = []
    with RunLeases("run-1", on_abandoned=lambda storage, holder: dead.append(holder)) as leases:
        assert leases.hold(FolderStorage(str(tmp_path))).holder.run_id == "run-1"
        (tmp_path / "_dtflw" / "lease").write_text(left)  # as if the holder wrote that
        with pytest.raises(StorageBusyError, match=r"in use by another run \(holder unknown\)"):
            RunLeases("run-2").hold(FolderStorage(str(tmp_path)))
    assert dead == [], "no dead holder is made up from it"
