"""Ctrl-C and SIGTERM during a real `dtflw run`: notebooks stopped, recorded cancelled, exit 128 + signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from testkit import LONG_SPARK_QUERY, RecordingRunner, notebook_source

DTFLW = os.path.join(os.path.dirname(sys.executable), "dtflw")
SLEEPER = "import time\ntime.sleep(600)"
STUBBORN = "import time\ntry:\n    time.sleep(600)\nfinally:\n    time.sleep(600)"
DAG_MAIN = """
from dtflw import init_flow
flow = init_flow()
with flow.dag(workers=2):
    flow.notebook("sleeper").run()
    flow.notebook("sparker").run()
"""
SEQUENTIAL_MAIN = """
from dtflw import init_flow
flow = init_flow()
flow.notebook("sparker").run()
"""
SLEEPY_MAIN = """
from dtflw import init_flow
flow = init_flow()
flow.notebook("sleeper").run()
"""
STUBBORN_MAIN = SLEEPY_MAIN.replace("sleeper", "stubborn")


class Run:
    """A `dtflw run` subprocess whose stderr is read as it comes."""

    def __init__(self, tmp_path, main: str):
        root = tmp_path / "ws" / "p"
        root.mkdir(parents=True)
        for name, source in (
            ("sleeper", SLEEPER),
            ("sparker", LONG_SPARK_QUERY),
            ("stubborn", STUBBORN),
            ("main", main),
        ):
            (root / f"{name}.py").write_text(notebook_source(source))
        self.storage = tmp_path / "storage"
        self.process = subprocess.Popen(
            [DTFLW, "run", str(root / "main.py"), "--storage", str(self.storage), "--user", "u@example.com"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        self.stderr: list[str] = []
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()

    def wait_running(self, *notebooks: str, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(any(f"running  /Users/u@example.com/p/{nb}" in line for line in self.stderr) for nb in notebooks):
                time.sleep(1.0)  # into the sleep / the Spark job
                return
            assert self.process.poll() is None, "".join(self.stderr)
            time.sleep(0.1)
        raise AssertionError("notebooks never started: " + "".join(self.stderr))

    def signal_and_wait(self, *signals: int, gap: float = 0.0) -> tuple[int, float]:
        """Send the signals; (exit code, seconds from the last signal to the exit)."""
        for s in signals:
            self.process.send_signal(s)
            time.sleep(gap)
        sent = time.monotonic() - gap
        try:
            code = self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        time.sleep(0.2)  # the reader thread takes the last lines
        return code, time.monotonic() - sent

    def documents(self) -> list[dict]:
        folder = self.storage / "_dtflw" / "runs"
        return [json.loads(p.read_text()) for p in folder.iterdir()]


@pytest.mark.slow
def test_ctrl_c_stops_a_sleeping_and_a_spark_notebook_of_a_dag_records_them_cancelled_and_exits_130(tmp_path):
    run = Run(tmp_path, DAG_MAIN)
    run.wait_running("sleeper", "sparker")
    code, seconds = run.signal_and_wait(signal.SIGINT)
    text = "".join(run.stderr)
    assert code == 130, text
    assert seconds < 20, "the bound of 5 s is measured in bench/bench_interrupt.py"
    assert "Interrupted (SIGINT)" in text and "cancelled /Users/u@example.com/p/sleeper" in text
    (doc,) = run.documents()
    assert doc["flow_run"]["status"] == "cancelled"
    statuses = {r["rel_path"]: (r["status"], r["error"]) for r in doc["notebook_runs"]}
    assert statuses == {
        "sleeper": ("cancelled", "cancelled: the run was interrupted"),
        "sparker": ("cancelled", "cancelled: the run was interrupted"),
    }


@pytest.mark.slow
@pytest.mark.parametrize(("main", "notebook"), [(SEQUENTIAL_MAIN, "sparker"), (SLEEPY_MAIN, "sleeper")])
def test_sigterm_stops_a_notebook_of_an_eager_flow_and_exits_143(tmp_path, main, notebook):
    run = Run(tmp_path, main)
    run.wait_running(notebook)
    code, _ = run.signal_and_wait(signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, "".join(run.stderr)
    (doc,) = run.documents()
    assert [(r["rel_path"], r["status"]) for r in doc["notebook_runs"]] == [(notebook, "cancelled")]
    assert doc["flow_run"]["status"] == "cancelled"


@pytest.mark.slow
def test_a_notebook_that_ignores_the_interrupt_is_abandoned_and_a_second_ctrl_c_exits_at_once(tmp_path):
    run = Run(tmp_path, STUBBORN_MAIN)
    run.wait_running("stubborn")
    code, _ = run.signal_and_wait(signal.SIGINT)
    assert code == 130 and "Interrupted (SIGINT)" in "".join(run.stderr)
    (doc,) = run.documents()
    assert [(r["rel_path"], r["status"]) for r in doc["notebook_runs"]] == [("stubborn", "cancelled")]

    run = Run(tmp_path / "again", STUBBORN_MAIN)
    run.wait_running("stubborn")
    code, seconds = run.signal_and_wait(signal.SIGINT, signal.SIGINT, gap=0.3)
    assert code == 130
    assert seconds < 1.2, "after the first signal alone the stuck notebook gets 1.5 s to unwind"
    assert "Interrupted" not in "".join(run.stderr), "no summary: it exited at once"


# -- in-process: the parts a signal sets in motion ---------------------------------------------------------
class FakeRuntime:
    """A runtime's flows and Spark session as the cancellation sees them."""

    def __init__(self, flows=()):
        self.flows = list(flows)
        self.interrupted = 0
        self.spark = self
        self.spark_started = True

    def interruptAll(self):  # noqa: N802 - Spark's name
        self.interrupted += 1


def test_after_an_interrupt_a_notebook_error_is_a_cancellation_and_no_notebook_starts():
    from dtflw.interrupts import Cancellation, NotebookCancelled

    cancellation = Cancellation()
    with pytest.raises(ValueError), cancellation.running(FakeRuntime()):
        raise ValueError("an error of its own")
    with (
        pytest.raises(NotebookCancelled, match=r"interrupted \(SIGTERM\)") as raised,
        cancellation.running(FakeRuntime()),
    ):
        cancellation.signal = signal.SIGTERM  # while it runs
        raise RuntimeError("OPERATION_CANCELED")
    assert isinstance(raised.value.__cause__, RuntimeError) and cancellation.exit_code == 143
    with pytest.raises(NotebookCancelled, match="not started"), cancellation.running(FakeRuntime()):
        pass


def test_stopping_interrupts_every_running_session_and_ends_the_open_flows_cancelled(make_workspace):
    from dtflw.interrupts import Cancellation, NotebookCancelled

    ws = make_workspace()
    ws.write("p/nb.py", "pass")
    ws.write("p/main.py", "from dtflw import init_flow\nflow = init_flow()")
    cancellation = Cancellation()
    runtime = FakeRuntime()
    started, release = threading.Event(), threading.Event()

    seen = []

    def stuck():
        try:
            with cancellation.running(runtime):
                started.set()
                release.wait(10)  # a C-level wait: the async exception waits for it
                time.sleep(0.5)
        except NotebookCancelled:
            seen.append("cancelled")

    thread = threading.Thread(target=stuck)
    thread.start()
    started.wait(5)
    cancellation.signal = signal.SIGINT
    cancellation._stop_running()
    assert runtime.interrupted == 1
    release.set()
    thread.join(5)
    assert not thread.is_alive() and seen == ["cancelled"]

    flow_runtime = ws.local.runtime_for("/Users/tester@example.com/p/main", {}, None)
    with pytest.raises(NotebookCancelled), cancellation.running(flow_runtime):
        pass  # cancelled: it does not start
    cancellation._running[0] = (threading.current_thread(), flow_runtime)
    from dtflw.runtime import activated

    with activated(flow_runtime):
        from dtflw import init_flow

        flow = init_flow()
    record = NotebookRunStub(flow)
    cancellation._end_open_flows()
    assert flow.ctx.flow_run.status.value == "cancelled" and record.status.value == "cancelled"


def NotebookRunStub(flow):  # noqa: N802 - builds a record as a step would
    from dtflw.events import NotebookRun

    run = NotebookRun("r1", flow.run_id, "/Users/u/p/nb", "nb", {}, [], [])
    flow.ctx.listeners.emit("on_notebook_start", flow.ctx.flow_run, run)
    return run


def test_an_interrupted_dag_does_not_wait_for_its_running_work(runtime_at, tmp_path):
    from dtflw import init_flow
    from dtflw.storage.local import LocalStorage

    release = threading.Event()

    def slow_then_interrupt(path, arguments):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the KeyboardInterrupt reaches the thread waiting for the DAG
        release.wait(10)

    with runtime_at(runner=RecordingRunner(action=slow_then_interrupt)):
        flow = init_flow(LocalStorage(str(tmp_path / "s")))
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt), flow.dag(workers=1):
            flow.notebook("slow").run()
            flow.notebook("queued").run()
        assert time.monotonic() - started < 5
    release.set()


def test_a_flow_left_by_a_keyboard_interrupt_ends_cancelled(make_workspace):
    ws = make_workspace()
    ws.write(
        "p/main.py",
        """
from dtflw import init_flow
try:
    with init_flow() as flow:
        raise KeyboardInterrupt
except KeyboardInterrupt:
    dbutils.notebook.exit(flow.ctx.flow_run.status.value)
""",
    )
    assert ws.run("p/main.py") == "cancelled"


def test_run_hands_back_the_value_or_the_error_of_its_thread():
    from dtflw.interrupts import Cancellation

    cancellation = Cancellation()
    assert cancellation.run(lambda a, b: a + b, 1, 2) == 3
    with pytest.raises(ZeroDivisionError):
        cancellation.run(lambda: 1 / 0)
