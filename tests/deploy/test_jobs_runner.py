"""JobsRunner against the local Jobs API server, through the real databricks-sdk client."""

from __future__ import annotations

import _thread
import threading
import time

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import NotebookOutput, Run, RunOutput
from jobs_server import OUTPUT_CAP, JobsServer

from dtflw import init_flow
from dtflw.core.options import RunOptions
from dtflw.deploy.export import Compute
from dtflw.deploy.jobs_runner import JobsRunner
from dtflw.errors import (
    DagFailedError,
    ExitValueTooLargeError,
    NotebookCancelledError,
    NotebookFailedError,
    NotebookSkippedError,
    NotebookTimeoutError,
)
from dtflw.lineage import LineageGraph

HOME = "/Users/tester@example.com"
ECHO = """
dbutils.widgets.text("x", "")
dbutils.notebook.exit("got " + dbutils.widgets.get("x"))
"""
SLEEPY = "import time\ntime.sleep(30)"
PRODUCER = """
from dtflw import init_outputs
spark.range(3).write.mode("overwrite").parquet(init_outputs("T")["T"].value)
dbutils.notebook.exit("wrote T")
"""
CONSUMER = """
from dtflw import init_inputs, init_outputs
n = spark.read.parquet(init_inputs("T")["T"].value).count()
spark.range(n * 2).write.mode("overwrite").parquet(init_outputs("U")["U"].value)
dbutils.notebook.exit(str(n))
"""


@pytest.fixture
def server(workspace):
    workspace.write("p/echo.py", ECHO)
    workspace.write("p/sleepy.py", SLEEPY)
    workspace.write("p/bad.py", "raise ValueError('no such customer: 42')")
    with JobsServer(workspace.local) as jobs:
        yield jobs


def runner_for(server, **kwargs) -> JobsRunner:
    client = WorkspaceClient(host=server.url, token=server.token)
    return JobsRunner(client, base_path=f"{HOME}/p", poll=(0.01, 0.05), backoff=0.01, **kwargs)


def test_a_notebook_runs_remotely_with_its_widgets_and_returns_its_exit_value(server):
    runner = runner_for(server, compute=Compute(existing_cluster_id="0101-abc"))
    assert runner.run("echo", 0, {"x": "7"}) == "got 7"
    (run,) = server.runs.values()
    (task,) = run.tasks
    assert task.spec["notebook_task"] == {
        "notebook_path": f"{HOME}/p/echo",
        "base_parameters": {"x": "7"},
        "source": "WORKSPACE",
    }
    assert task.spec["existing_cluster_id"] == "0101-abc"
    assert (run.run_type, run.life, run.result) == ("SUBMIT_RUN", "TERMINATED", "SUCCESS")
    assert server.calls("runs/submit") == [200] and server.calls("runs/get") == [200]  # one look for the task
    assert set(server.calls("runs/get-output")) == {200}  # then its output, polled until it says the task ended


def test_a_workspace_refusing_the_output_of_a_running_task_is_asked_for_the_run_first(server, workspace):
    workspace.write("p/slow.py", "import time\ntime.sleep(0.5)\ndbutils.notebook.exit('done')")
    server.fail("runs/get-output", 400, "INVALID_PARAMETER_VALUE", "Output is only available once the run ended")
    runner = runner_for(server)
    assert runner.run("slow", 0, {}) == "done"
    assert server.calls("runs/get-output") == [400, 200]  # refused while running; read once it had ended
    assert len(server.calls("runs/get")) > 2
    assert runner.run("echo", 0, {"x": "1"}) == "got 1"  # from then on: the run first, then its output
    assert server.calls("runs/get-output") == [400, 200, 200]


def test_a_failed_notebook_reports_its_error_and_run_page(server):
    with pytest.raises(NotebookFailedError) as caught:
        runner_for(server).run("../p/bad", 0, {})
    run = next(iter(server.runs.values()))
    assert caught.value.notebook_path == f"{HOME}/p/bad"
    assert "ValueError: no such customer: 42" in str(caught.value)
    assert f"run {run.run_id}: {run.url}" in str(caught.value)
    assert not isinstance(caught.value, NotebookTimeoutError | NotebookCancelledError)


def test_a_notebook_over_its_timeout_times_out(server):
    start = time.monotonic()
    with pytest.raises(NotebookTimeoutError, match="timed out after 1 s on Databricks"):
        runner_for(server).run("sleepy", 1, {})
    assert time.monotonic() - start < 10
    assert next(iter(server.runs.values())).tasks[0].spec["timeout_seconds"] == 1


def test_an_internal_error_of_the_service_is_a_failure_with_its_message(server):
    server.internal_error(f"{HOME}/p/echo")
    with pytest.raises(NotebookFailedError, match="Could not reach the driver of the cluster"):
        runner_for(server).run("echo", 0, {"x": "1"})
    assert next(iter(server.runs.values())).tasks[0].life == "INTERNAL_ERROR"


def test_cancel_all_cancels_the_remote_runs_and_submits_no_more(server):
    runner = runner_for(server)
    errors = []
    worker = threading.Thread(target=lambda: _capture(errors, runner.run, "sleepy", 0, {}))
    worker.start()
    _wait_for(lambda: any(t.life == "RUNNING" for r in server.runs.values() for t in r.tasks))
    runner.cancel_all()
    worker.join(10)
    assert isinstance(errors[0], NotebookCancelledError), errors
    assert next(iter(server.runs.values())).result == "CANCELED"
    assert server.calls("runs/cancel") == [200]
    with pytest.raises(NotebookCancelledError, match="not submitted"):
        runner.run("echo", 0, {})
    assert len(server.runs) == 1


def test_ctrl_c_while_waiting_cancels_the_remote_run(server):
    runner = runner_for(server)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        runner.run("sleepy", 0, {})
    assert server.calls("runs/cancel") == [200]
    _wait_for(lambda: next(iter(server.runs.values())).result == "CANCELED")


def test_server_errors_are_retried_and_a_resubmission_starts_no_second_run(server):
    server.fail("runs/submit", 500, "INTERNAL_ERROR", after=True)  # the run started, the answer was lost
    server.fail("runs/get", 500, "INTERNAL_ERROR", times=2)
    server.fail("runs/get-output", 504, "DEADLINE_EXCEEDED")
    assert runner_for(server).run("echo", 0, {"x": "1"}) == "got 1"
    assert len(server.runs) == 1  # the retried submit carried the same idempotency token
    assert server.calls("runs/submit") == [500, 200]
    assert server.calls("runs/get")[:3] == [500, 500, 200]
    assert server.calls("runs/get-output")[:2] == [504, 200]


def test_throttling_is_retried_after_the_time_retry_after_gives(server):
    server.fail("runs/submit", 429, "REQUEST_LIMIT_EXCEEDED", retry_after=1)
    start = time.monotonic()
    assert runner_for(server).run("echo", 0, {"x": "2"}) == "got 2"
    assert time.monotonic() - start >= 1.0
    assert server.calls("runs/submit") == [429, 200] and len(server.runs) == 1


def test_errors_that_retrying_cannot_fix_are_typed_and_say_what_to_check(server):
    server.fail("runs/submit", 400, "INVALID_PARAMETER_VALUE", "Invalid cluster id")
    with pytest.raises(NotebookFailedError, match="INVALID_PARAMETER_VALUE: Invalid cluster id") as caught:
        runner_for(server).run("echo", 0, {})
    assert "token's permissions" in str(caught.value)
    server.fail("runs/get", 500, "INTERNAL_ERROR", times=10)
    with pytest.raises(NotebookFailedError, match="INTERNAL_ERROR"):
        runner_for(server, retries=2).run("echo", 0, {})
    assert server.calls("runs/get") == [500, 500, 500]
    bad_token = JobsRunner(WorkspaceClient(host=server.url, token="wrong"), base_path=HOME)
    with pytest.raises(NotebookFailedError, match="PermissionDenied.*Invalid access token"):
        bad_token.run("p/echo", 0, {})


def test_an_exit_value_over_5_mb_fails_naming_the_notebook(server, workspace):
    workspace.write("p/big.py", f"dbutils.notebook.exit('x' * {OUTPUT_CAP + 10})")
    with pytest.raises(NotebookFailedError, match=r"ExitValueTooLargeError: Notebook '/Users/.*/p/big' exits"):
        runner_for(server).run("big", 0, {})


def test_an_exit_value_read_truncated_fails_naming_the_notebook_and_run():
    succeeded = {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}
    run, output = _run_and_output(succeeded, succeeded)
    output.notebook_output = NotebookOutput(result="x" * 10, truncated=True)
    with pytest.raises(ExitValueTooLargeError, match=r"Notebook '/nb' exits .* \(run 1: https://adb/#run/1\)"):
        JobsRunner(client=object())._outcome(run, output, "/nb", 0)


def _run_and_output(state: dict, task_state: dict) -> tuple[Run, RunOutput]:
    run = {"run_id": 1, "run_page_url": "https://adb/#run/1", "state": state, "tasks": [{"run_id": 2}]}
    return Run.from_dict(run), RunOutput.from_dict({"metadata": {"run_id": 2, "state": task_state}})


@pytest.mark.parametrize(
    ("task_state", "error"),
    [
        ({"life_cycle_state": "SKIPPED", "state_message": "upstream failed"}, NotebookSkippedError),
        ({"life_cycle_state": "TERMINATED", "result_state": "UPSTREAM_FAILED"}, NotebookSkippedError),
        ({"life_cycle_state": "TERMINATED", "result_state": "CANCELED"}, NotebookCancelledError),
        ({"life_cycle_state": "TERMINATED", "result_state": "TIMEDOUT"}, NotebookTimeoutError),
    ],
)
def test_terminal_states_map_to_dtflw_errors(task_state, error):
    runner = JobsRunner(client=object())
    with pytest.raises(error, match="run 1: https://adb/#run/1"):
        run, output = _run_and_output({"life_cycle_state": "TERMINATED", "result_state": "FAILED"}, task_state)
        runner._outcome(run, output, "/nb", 5)


def test_a_dag_of_remote_notebooks_checks_outputs_and_records_lineage(server, workspace, runtime_at):
    workspace.write("p/producer.py", PRODUCER)
    workspace.write("p/consumer.py", CONSUMER)
    storage_url = "file://" + str(workspace.storage_folder)
    with runtime_at(f"{HOME}/p/main", runner=runner_for(server), options=RunOptions(default_storage_url=storage_url)):
        flow = init_flow()
        with flow.dag(workers=2):
            flow.notebook("consumer").input("T").output("U").run()
            flow.notebook("producer").output("T").run()
            flow.notebook("echo").args({"x": "side"}).run()
        flow.end()
    runs = {r.tasks[0].spec["notebook_task"]["notebook_path"]: r for r in server.runs.values()}
    assert set(runs) == {f"{HOME}/p/{n}" for n in ("producer", "consumer", "echo")}
    assert runs[f"{HOME}/p/producer"].end <= runs[f"{HOME}/p/consumer"].start
    assert (workspace.storage_folder / "p/consumer/U.parquet").is_dir()
    graph = LineageGraph.load(flow.ctx.storage)
    consumer = graph.latest_run(f"{HOME}/p/consumer")
    assert [u.path for u in consumer.inputs] == [str(workspace.storage_folder / "p/producer/T.parquet")]
    assert consumer.exit_value == "3" and consumer.status.value == "succeeded"
    assert graph.latest_producer(str(workspace.storage_folder / "p/consumer/U.parquet")) is consumer


def test_a_failed_remote_step_fails_the_dag_and_skips_its_downstream(server, workspace, runtime_at):
    storage_url = "file://" + str(workspace.storage_folder)
    with runtime_at(f"{HOME}/p/main", runner=runner_for(server), options=RunOptions(default_storage_url=storage_url)):
        flow = init_flow()
        with pytest.raises(DagFailedError, match="no such customer: 42") as caught, flow.dag():
            first = flow.notebook("bad").output("T")
            first.run()
            flow.notebook("echo").input("T").run()
    assert caught.value.not_run == ["echo"]
    assert len(server.runs) == 1


def _capture(errors: list, function, *args):
    try:
        function(*args)
    except Exception as e:
        errors.append(e)


def _wait_for(condition, within: float = 20.0):
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)
