"""The local Jobs API server itself, through the real databricks-sdk client: shapes, life cycle, run_if, errors."""

from __future__ import annotations

import time

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, NotFound, PermissionDenied, ResourceDoesNotExist
from databricks.sdk.service.jobs import (
    NotebookTask,
    RunIf,
    RunLifeCycleState,
    RunResultState,
    SubmitTask,
    Task,
    TaskDependency,
)
from jobs_server import JobsServer

HOME = "/Users/tester@example.com"


@pytest.fixture
def jobs(workspace):
    workspace.write("p/ok.py", "import time\ntime.sleep(0.3)\ndbutils.notebook.exit('ok')")
    workspace.write("p/bad.py", "raise RuntimeError('bad data')")
    with JobsServer(workspace.local, pending_seconds=0.2) as server:
        yield server


@pytest.fixture
def client(jobs):
    return WorkspaceClient(host=jobs.url, token=jobs.token)


def task(key, notebook, *after, run_if=None, **kwargs) -> SubmitTask:
    return SubmitTask(
        task_key=key,
        notebook_task=NotebookTask(notebook_path=f"{HOME}/p/{notebook}"),
        depends_on=[TaskDependency(task_key=a) for a in after] or None,
        run_if=run_if,
        **kwargs,
    )


def test_a_run_goes_pending_running_terminated_and_tasks_wait_for_their_dependencies(client):
    submitted = client.jobs.submit(run_name="chain", tasks=[task("a", "ok"), task("b", "ok", "a")])
    seen = []
    while True:
        run = client.jobs.get_run(submitted.response.run_id)
        state = run.state.life_cycle_state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == RunLifeCycleState.TERMINATED:
            break
        time.sleep(0.02)
    assert seen == [RunLifeCycleState.PENDING, RunLifeCycleState.RUNNING, RunLifeCycleState.TERMINATED]
    assert run.state.result_state == RunResultState.SUCCESS
    a, b = run.tasks
    assert a.end_time <= b.start_time
    output = client.jobs.get_run_output(b.run_id)
    assert output.notebook_output.result == "ok" and not output.notebook_output.truncated
    assert output.metadata.run_id == b.run_id
    with pytest.raises(InvalidParameterValue, match="multiple tasks is not supported"):
        client.jobs.get_run_output(run.run_id)


def test_run_if_decides_which_tasks_run_after_a_failure(client):
    run = client.jobs.submit_and_wait(
        run_name="run_if",
        tasks=[
            task("fails", "bad"),
            task("fine", "ok"),
            task("after_failure", "ok", "fails"),
            task("all_done", "ok", "fails", run_if=RunIf.ALL_DONE),
            task("on_failure", "ok", "fails", "fine", run_if=RunIf.AT_LEAST_ONE_FAILED),
            task("one_success", "ok", "fails", "fine", run_if=RunIf.AT_LEAST_ONE_SUCCESS),
            task("none_failed", "ok", "fails", run_if=RunIf.NONE_FAILED),
            task("after_skip", "ok", "after_failure"),
        ],
    )
    states = {t.task_key: (t.state.life_cycle_state.value, t.state.result_state.value) for t in run.tasks}
    assert states == {
        "fails": ("TERMINATED", "FAILED"),
        "fine": ("TERMINATED", "SUCCESS"),
        "after_failure": ("SKIPPED", "UPSTREAM_FAILED"),
        "all_done": ("TERMINATED", "SUCCESS"),
        "on_failure": ("TERMINATED", "SUCCESS"),
        "one_success": ("TERMINATED", "SUCCESS"),
        "none_failed": ("SKIPPED", "EXCLUDED"),
        "after_skip": ("SKIPPED", "UPSTREAM_FAILED"),
    }
    assert run.state.result_state == RunResultState.FAILED
    failed = next(t for t in run.tasks if t.task_key == "fails")
    output = client.jobs.get_run_output(failed.run_id)
    assert output.error == "NotebookFailedError: " + output.error.split(": ", 1)[1]
    assert "RuntimeError: bad data" in output.error and "Traceback" in output.error_trace


def test_a_failed_task_is_retried_as_configured(jobs, client, workspace):
    marker = workspace.root / "attempts"
    workspace.write(
        "p/flaky.py",
        f"""
        import pathlib
        marker = pathlib.Path({str(marker)!r})
        marker.write_text(marker.read_text() + "x" if marker.exists() else "x")
        if len(marker.read_text()) < 3:
            raise RuntimeError("not yet")
        dbutils.notebook.exit("third time")
        """,
    )
    run = client.jobs.submit_and_wait(tasks=[task("f", "flaky", max_retries=2, min_retry_interval_millis=10)])
    assert run.state.result_state == RunResultState.SUCCESS
    assert run.tasks[0].attempt_number == 2
    assert client.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "third time"


def test_a_created_job_runs_now_with_its_settings(client):
    job = client.jobs.create(
        name="two",
        tasks=[
            Task(task_key="a", notebook_task=NotebookTask(notebook_path=f"{HOME}/p/ok")),
            Task(
                task_key="b", notebook_task=NotebookTask(notebook_path=f"{HOME}/p/ok"), depends_on=[TaskDependency("a")]
            ),
        ],
    )
    run = client.jobs.run_now(job.job_id).result()
    assert (run.job_id, run.run_type.value, run.state.result_state) == (job.job_id, "JOB_RUN", RunResultState.SUCCESS)
    assert [t.task_key for t in run.tasks] == ["a", "b"]


def test_malformed_requests_unknown_runs_endpoints_and_tokens_are_refused(jobs, client):
    with pytest.raises(InvalidParameterValue, match="depends on unknown"):
        client.jobs.submit(tasks=[task("a", "ok", "nowhere")])
    with pytest.raises(InvalidParameterValue, match="Missing required field: tasks"):
        client.jobs.submit(run_name="empty")
    with pytest.raises(ResourceDoesNotExist, match="Run 4242 does not exist"):  # the SDK maps 400 by message
        client.jobs.get_run(4242)
    with pytest.raises(NotFound, match="No API found"):
        client.api_client.do("GET", "/api/2.2/jobs/runs/nope")
    with pytest.raises(PermissionDenied, match="Invalid access token"):
        WorkspaceClient(host=jobs.url, token="stolen").jobs.get_run(1)
    assert jobs.runs == {}


def test_an_injected_error_answers_once_with_its_code(jobs, client):
    jobs.fail("runs/get", 400, "INVALID_STATE", "Run is being repaired")
    run_id = client.jobs.submit(tasks=[task("a", "ok")]).response.run_id
    with pytest.raises(InvalidParameterValue.__base__, match="Run is being repaired") as caught:
        client.jobs.get_run(run_id)
    assert caught.value.error_code == "INVALID_STATE"
    assert client.jobs.get_run(run_id).run_id == run_id


def test_cancelling_a_run_cancels_its_running_task_and_skips_the_rest(jobs, client, workspace):
    workspace.write("p/slow.py", "import time\ntime.sleep(30)")
    run_id = client.jobs.submit(tasks=[task("slow", "slow"), task("next", "ok", "slow")]).response.run_id
    deadline = time.monotonic() + 20
    while client.jobs.get_run(run_id).tasks[0].state.life_cycle_state != RunLifeCycleState.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run = client.jobs.cancel_run_and_wait(run_id)
    assert run.state.result_state == RunResultState.CANCELED
    assert [t.state.result_state for t in run.tasks] == [RunResultState.CANCELED, RunResultState.CANCELED]
