"""`dtflw deploy run`: a planned flow as one multi-task run on the (local) Jobs API, and `--repair`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from jobs_server import JobsServer, deploy_run, use_profile

from dtflw.cli import main

USER = "tester@example.com"
COUNTED = """
import pathlib
dbutils.widgets.text("name", "")
name = dbutils.widgets.get("name")
with open({log!r}, "a") as log:  # steps run in parallel: append, never rewrite
    log.write(name + "\\n")
if name == "b" and not pathlib.Path({fixed!r}).exists():
    raise RuntimeError("b is broken")
dbutils.notebook.exit(name)
"""
MAIN = """
from dtflw import init_flow
flow = init_flow()
with flow.dag():
    a = flow.notebook("step").args({"name": "a"}).output("A")
    a.run()
    b = flow.notebook("step").args({"name": "b"}).input("A").output("B")
    b.run()
    flow.notebook("step").args({"name": "c"}).input("B").run()
    flow.notebook("step").args({"name": "d"}).run()
"""


@pytest.fixture
def project(workspace, tmp_path, monkeypatch):
    log, fixed = tmp_path / "calls.log", tmp_path / "fixed"
    workspace.write("p/step.py", COUNTED.format(log=str(log), fixed=str(fixed)))
    workspace.write("p/main.py", MAIN)
    with JobsServer(workspace.local) as jobs:
        use_profile(jobs, tmp_path, monkeypatch)
        yield workspace, jobs, log, fixed


def calls(log) -> list[str]:
    return log.read_text().split()


def test_a_failed_run_is_repaired_in_place_re_running_only_what_failed(project):
    workspace, jobs, log, fixed = project
    first = deploy_run(workspace)
    assert first.exit_code == 1
    assert "Submitted 4 task(s) of 'main' as run" in first.stderr
    assert "… pending  step_2\n" in first.stderr and "✖ failed   step_2\n" in first.stderr
    assert "↷ skipped  step_3 (upstream_failed)\n" in first.stderr and "✔ done     step_4\n" in first.stderr
    assert "DagFailedError: 1 task(s) of run" in first.stderr and "not run: step_3" in first.stderr
    assert "RuntimeError: b is broken" in first.stderr
    assert sorted(calls(log)) == ["a", "b", "d"]
    fixed.touch()
    jobs.fail("runs/get", 500, "INTERNAL_ERROR")  # retried
    repaired = deploy_run(workspace, "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert jobs.calls("runs/get").count(500) == 1
    assert "Repairing run" in repaired.stderr and "ended: SUCCESS" in repaired.stderr
    assert sorted(calls(log)) == ["a", "b", "b", "c", "d"]  # a and d did not run again
    (run,) = jobs.runs.values()
    assert len(run.repairs) == 1 and run.result == "SUCCESS"
    nothing = deploy_run(workspace, "--repair")
    assert nothing.exit_code == 1 and "has no failed task to repair" in nothing.stderr


def test_a_run_that_cannot_be_repaired_in_place_resubmits_the_failed_tasks_and_their_downstream(project):
    workspace, jobs, log, fixed = project
    assert deploy_run(workspace).exit_code == 1
    fixed.touch()
    jobs.fail("runs/repair", 400, "INVALID_PARAMETER_VALUE", "Run cannot be repaired")
    repaired = deploy_run(workspace, "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert "Re-submitted the failed tasks of run" in repaired.stderr
    first, second = jobs.runs.values()
    assert [t.key for t in second.tasks] == ["step_2", "step_3"]
    assert "depends_on" not in second.tasks[0].spec
    assert sorted(calls(log)) == ["a", "b", "b", "c", "d"]


def test_a_run_and_tasks_reported_without_their_states_are_followed_to_the_end(project):
    """The Jobs API leaves out a state it does not have (a run's `result_state`, a pending task's `state`):
    the run is still followed, its end shown by its life cycle state, its failures reported."""
    workspace, jobs, log, fixed = project
    jobs.leave_out_states()
    failed = deploy_run(workspace)
    assert failed.exit_code == 1
    assert "ended: TERMINATED" in failed.stderr and "✖ failed   step_2\n" in failed.stderr
    assert "DagFailedError: 1 task(s) of run" in failed.stderr and "not run: step_3" in failed.stderr
    fixed.touch()
    passed = deploy_run(workspace)
    assert passed.exit_code == 0, passed.output
    assert "ended: TERMINATED" in passed.stderr and "✔ done     step_4\n" in passed.stderr
    assert sorted(calls(log)) == ["a", "a", "b", "b", "c", "d", "d"]


def test_repair_without_an_earlier_run_and_a_refused_token_are_reported(project, tmp_path):
    workspace, jobs, _, _ = project
    never = deploy_run(workspace, "--repair")
    assert never.exit_code == 1 and "No earlier run of 'main'" in never.stderr
    (tmp_path / "databrickscfg").write_text(f"[local]\nhost = {jobs.url}\ntoken = wrong\n")
    refused = deploy_run(workspace)
    assert refused.exit_code == 1 and "PermissionDenied: Invalid access token" in refused.stderr
    assert "wrong" not in refused.stderr


def test_run_on_databricks_submits_a_pipeline_file_as_one_run(project):
    workspace, jobs, log, fixed = project
    fixed.touch()
    (workspace.root / "p/pipeline.yml").write_text(
        "name: nightly\nsteps:\n"
        "  - {notebook: step, name: first, args: {name: a}, outputs: [A]}\n"
        "  - {notebook: step, name: second, args: {name: b}, inputs: [A]}\n"
    )
    arguments = [
        "run", str(workspace.root / "p/pipeline.yml"), "--on", "databricks", "--profile", "local",
        "--storage", str(workspace.storage_folder), "--user", USER, "--allow-local-storage",
    ]  # fmt: skip
    result = CliRunner().invoke(main, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Submitted 2 task(s) of 'nightly' as run" in result.stderr and "ended: SUCCESS" in result.stderr
    (run,) = jobs.runs.values()
    assert [(t.key, t.spec.get("depends_on")) for t in run.tasks] == [  # keys from notebook paths, as for notebooks
        ("step", None),
        ("step_2", [{"task_key": "step"}]),
    ]
    assert calls(log) == ["a", "b"]
    local_only = CliRunner().invoke(main, [*arguments, "--lazy", "--select", "first"])
    assert local_only.exit_code == 2 and "--lazy, --select apply to local runs only" in local_only.output
