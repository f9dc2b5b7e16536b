"""Lineage of a deployed run: each job task's notebook records its own run, `dtflw deploy run` closes the
records with the tasks' terminal states, and `dtflw lineage` shows the job run as one flow, like a local run."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import Run
from jobs_server import JobsServer, deploy_run, use_profile

from dtflw.cli import main
from dtflw.core.widgets import JOB_WIDGET
from dtflw.deploy.run_lineage import REPLACED, close_job_run
from dtflw.events import RunStatus
from dtflw.incremental import STARTED, SUCCEEDED, RunHistory
from dtflw.lineage import LineageGraph
from dtflw.runtime.task_lineage import job_flow_run_id, task_run_record_id
from dtflw.storage.local import LocalStorage

USER = "tester@example.com"
HOME = f"/Users/{USER}/p"
WRITE = """
import pathlib
from dtflw import init_args, init_inputs, init_outputs
args = init_args("name")
inputs = init_inputs({inputs})
outputs = init_outputs({outputs})
if args["name"].value == "b" and not pathlib.Path({fixed!r}).exists():
    raise RuntimeError("b is broken")
df = spark.range(3)
for table in inputs.values():
    df = df.union(spark.read.parquet(table.value).limit(1))
for table in outputs.values():
    df.write.mode("overwrite").parquet(table.value)
dbutils.notebook.exit(args["name"].value)
"""
MAIN = """
from dtflw import init_flow
flow = init_flow()
with flow.dag():
    flow.notebook("make_a").args({"name": "a"}).output("A").run()
    flow.notebook("make_b").args({"name": "b"}).input("A").output("B").run()
    flow.notebook("use_b").args({"name": "c"}).input("B").output("C", alias="Report").run()
"""


@pytest.fixture
def project(workspace, tmp_path, monkeypatch):
    fixed = tmp_path / "fixed"
    workspace.write("p/make_a.py", WRITE.format(inputs="", outputs='"A"', fixed=str(fixed)))
    workspace.write("p/make_b.py", WRITE.format(inputs='"A"', outputs='"B"', fixed=str(fixed)))
    workspace.write("p/use_b.py", WRITE.format(inputs='"B"', outputs='"C"', fixed=str(fixed)))
    workspace.write("p/main.py", MAIN)
    with JobsServer(workspace.local) as jobs:
        use_profile(jobs, tmp_path, monkeypatch)
        yield workspace, jobs, fixed


def table(workspace, notebook: str, name: str) -> str:
    return f"{workspace.storage_folder}/p/{notebook}/{name}.parquet"


def runs_by_notebook(graph) -> dict[str, list]:
    found: dict[str, list] = {}
    for run in graph.runs.values():
        found.setdefault(run.notebook_path.rsplit("/", 1)[-1], []).append(run)
    return found


def test_a_deployed_run_is_one_flow_whose_notebooks_recorded_their_tables_as_a_local_run_does(project):
    workspace, jobs, fixed = project
    fixed.touch()
    result = deploy_run(workspace)
    assert result.exit_code == 0, result.output
    (job_run,) = jobs.runs.values()
    storage = LocalStorage(str(workspace.storage_folder))
    graph = LineageGraph.load(storage)
    assert graph.problems == []
    (flow,) = graph.flows.values()
    assert flow.run_id == job_flow_run_id(str(job_run.run_id))
    assert (flow.notebook_path, flow.status) == (f"{HOME}/main", RunStatus.SUCCEEDED)
    assert flow.started * 1000 <= job_run.tasks[0].start and flow.ended * 1000 == pytest.approx(job_run.end, abs=1)
    runs = runs_by_notebook(graph)
    assert sorted(runs) == ["make_a", "make_b", "use_b"]
    for name, (run,) in runs.items():
        task = next(t for t in job_run.tasks if t.key == name)
        assert run.run_id == task_run_record_id(str(job_run.run_id), str(task.run_id))
        assert (run.flow_run_id, run.status, run.attempt) == (flow.run_id, RunStatus.SUCCEEDED, 1)
        assert run.rel_path == name and run.ended >= run.started
    a, b, c = table(workspace, "make_a", "A"), table(workspace, "make_b", "B"), table(workspace, "use_b", "C")
    (make_b,) = runs["make_b"]
    assert make_b.args == {"name": "b"}
    assert [(u.name, u.path, u.state.exists) for u in make_b.inputs] == [("A", a, True)]
    (out,) = make_b.outputs
    assert (out.name, out.path, out.state.exists, out.row_count, out.schema) == ("B", b, True, 4, [("id", "bigint")])
    assert graph.latest_producer(b).run_id == make_b.run_id
    assert graph.latest_producer(c).outputs[0].alias == "Report"
    assert [(e.kind, e.run_id) for e in graph.edges_of_table(a)] == [
        ("produced", runs["make_a"][0].run_id),
        ("consumed", make_b.run_id),
    ]

    # the same flow run here records the same notebooks and tables, under another flow run
    workspace.run("p/main.py")
    local = LineageGraph.load(storage)
    assert len(local.flows) == 2
    assert set(local.notebooks) == set(graph.notebooks) and set(local.tables) == set(graph.tables)
    here = [r for r in local.runs.values() if r.flow_run_id != flow.run_id]
    assert sorted((r.notebook_path, r.status) for r in here) == sorted(
        (r.notebook_path, r.status) for r in graph.runs.values()
    )


def test_a_failed_task_is_recorded_failed_its_downstream_skipped_and_a_repair_joins_the_same_flow(project):
    workspace, jobs, fixed = project
    failed = deploy_run(workspace)
    assert failed.exit_code == 1
    storage = LocalStorage(str(workspace.storage_folder))
    graph = LineageGraph.load(storage)
    (flow,) = graph.flows.values()
    assert flow.status == RunStatus.FAILED
    runs = runs_by_notebook(graph)
    assert [r.status for r in runs["make_a"]] == [RunStatus.SUCCEEDED]
    (make_b,) = runs["make_b"]
    assert make_b.status == RunStatus.FAILED and "RuntimeError: b is broken" in make_b.error
    assert make_b.outputs[0].state.exists is False  # it wrote nothing
    (use_b,) = runs["use_b"]
    assert (use_b.status, use_b.reason) == (RunStatus.SKIPPED, "upstream_failed")
    assert [u.path for u in use_b.inputs] == [table(workspace, "make_b", "B")] and use_b.inputs[0].state is None
    assert graph.latest_producer(table(workspace, "make_b", "B")) is None
    where = ["--storage", str(workspace.storage_folder)]
    shown = CliRunner().invoke(main, ["lineage", "show", *where], catch_exceptions=False)
    assert shown.exit_code == 0 and all(nb in shown.output for nb in ("make_a", "make_b", "use_b"))
    exported = CliRunner().invoke(main, ["lineage", "export", "--format", "json", *where], catch_exceptions=False)
    document = json.loads(exported.output)
    assert exported.exit_code == 0 and len(document["flows"]) == 1, document.keys()
    for fmt in ("openlineage", "mermaid", "dot", "html"):
        out = workspace.root.parent / f"lineage.{fmt}"
        written = CliRunner().invoke(main, ["lineage", "export", "--format", fmt, "--out", str(out), *where])
        assert written.exit_code == 0 and "make_b" in out.read_text(), (fmt, written.output)

    fixed.touch()
    repaired = deploy_run(workspace, "--repair")
    assert repaired.exit_code == 0, repaired.output
    graph = LineageGraph.load(storage)
    (same,) = graph.flows.values()  # repaired in place: the same job run, the same flow
    assert (same.run_id, same.status) == (flow.run_id, RunStatus.SUCCEEDED)
    runs = runs_by_notebook(graph)
    assert len(runs["make_a"]) == 1
    assert [r.status for r in runs["make_b"]] == [RunStatus.FAILED, RunStatus.SUCCEEDED]
    assert [r.status for r in runs["use_b"]] == [RunStatus.SKIPPED, RunStatus.SUCCEEDED]
    assert graph.latest_producer(table(workspace, "use_b", "C")).status == RunStatus.SUCCEEDED


def test_closing_again_changes_nothing_and_a_retried_attempt_closes_the_one_it_replaced(project):
    workspace, jobs, fixed = project
    workspace.write("p/flaky.py", FLAKY.format(marker=str(workspace.root / "tried")))
    workspace.write("p/main.py", "from dtflw import init_flow\nflow = init_flow()\n" + RETRIED)
    assert deploy_run(workspace).exit_code == 0
    storage = LocalStorage(str(workspace.storage_folder))
    first, second = sorted(LineageGraph.load(storage).runs.values(), key=lambda r: r.attempt)
    assert (first.attempt, first.status, first.reason) == (1, RunStatus.FAILED, REPLACED)
    assert (second.attempt, second.status) == (2, RunStatus.SUCCEEDED)
    folder = workspace.storage_folder / "_dtflw/runs"
    before = {p.name: p.read_text() for p in folder.iterdir()}
    assert len(before) == 3  # two attempts and the flow
    (job_run,) = jobs.runs.values()
    client = WorkspaceClient(host=jobs.url, token=jobs.token)
    close_job_run(client, client.jobs.get_run(job_run.run_id))
    assert {p.name: p.read_text() for p in folder.iterdir()} == before


FLAKY = """
import pathlib
from dtflw import init_outputs
outputs = init_outputs("F")
marker = pathlib.Path({marker!r})
if not marker.exists():
    marker.touch()
    raise RuntimeError("first attempt fails")
spark.range(2).write.parquet(outputs["F"].value)
"""
RETRIED = 'flow.notebook("flaky").output("F").retries(1, backoff=0.01).run()\n'


def test_a_successful_deployed_run_keeps_the_run_history_a_lazy_local_run_skips_by(project):
    workspace, jobs, fixed = project
    fixed.touch()
    assert deploy_run(workspace).exit_code == 0
    storage = LocalStorage(str(workspace.storage_folder))
    history = RunHistory(storage)
    record = json.loads(storage.read_text(history._path(f"{HOME}/make_b", [table(workspace, "make_b", "B")])))
    assert record["status"] == SUCCEEDED
    workspace.local.options.force_lazy = True
    workspace.run("p/main.py")
    local = [r for r in LineageGraph.load(storage).runs.values() if r.flow_run_id not in {*jobs_flow_ids(jobs)}]
    assert sorted((r.rel_path, r.status, r.reason) for r in local) == [
        ("make_a", RunStatus.SKIPPED, "up to date"),
        ("make_b", RunStatus.SKIPPED, "up to date"),
        ("use_b", RunStatus.SKIPPED, "up to date"),
    ]


def test_a_notebook_edited_after_a_deployed_run_runs_again_in_a_lazy_local_run(project):
    """The export put each notebook's source fingerprint in its task's `dtflw_job`: the deployed run's
    history says which source it ran, so an edit since is seen."""
    workspace, jobs, fixed = project
    fixed.touch()
    assert deploy_run(workspace).exit_code == 0
    edited = workspace.root / "p/use_b.py"
    edited.write_text(edited.read_text() + "\n# edited after the deployed run\n")
    workspace.local.options.force_lazy = True
    workspace.run("p/main.py")
    storage = LocalStorage(str(workspace.storage_folder))
    local = [r for r in LineageGraph.load(storage).runs.values() if r.flow_run_id not in {*jobs_flow_ids(jobs)}]
    assert sorted((r.rel_path, r.status, r.reason) for r in local) == [
        ("make_a", RunStatus.SKIPPED, "up to date"),
        ("make_b", RunStatus.SKIPPED, "up to date"),
        ("use_b", RunStatus.SUCCEEDED, "notebook source changed"),
    ]


def jobs_flow_ids(jobs) -> list[str]:
    return [job_flow_run_id(str(run_id)) for run_id in jobs.runs]


# -- the callee side alone ----------------------------------------------------------------------------
CALLEE = """
from dtflw import init_args, init_outputs
init_args("name")
init_outputs("X")
dbutils.notebook.exit("done")
"""


def identity_widget(storage_url: str, job_run="{{job.run_id}}", task_run="{{task.run_id}}") -> str:
    return json.dumps(
        {
            "storage": storage_url,
            "root_dir": "lake",
            "flow": f"{HOME}/main",
            "notebook": f"{HOME}/callee",
            "rel_path": "callee",
            "task": "callee",
            "args": ["name"],
            "outputs": ["X"],
            "aliases": ["X"],
            "formats": ["parquet"],
            "job_run": job_run,
            "task_run": task_run,
        }
    )


def run_task(workspace, widget: str, tags: dict | None = None):
    workspace.write("p/callee.py", CALLEE)
    params = {"name": "n", "X_out": str(workspace.storage_folder / "x.parquet"), JOB_WIDGET: widget}
    return workspace.local.run(f"{HOME}/callee", params, context_tags=tags)


def test_without_replaced_references_the_run_ids_come_from_the_notebook_context_and_rerecording_keeps_the_start(
    workspace,
):
    storage_url = f"file://{workspace.storage_folder}"
    tags = {"jobType": "NORMAL", "multitaskParentRunId": "77", "runId": "78"}
    assert run_task(workspace, identity_widget(storage_url), tags) == "done"
    folder = workspace.storage_folder / "lake/_dtflw/runs"
    (document,) = folder.iterdir()
    assert document.name == f"{job_flow_run_id('77')}.callee.78.json"
    first = json.loads(document.read_text())["notebook_runs"][0]
    assert (first["status"], first["attempt"], first["args"]) == ("running", 1, {"name": "n"})
    assert first["outputs"][0]["path"] == str(workspace.storage_folder / "x.parquet")
    history = RunHistory(LocalStorage(str(workspace.storage_folder), root_dir="lake"))
    record = json.loads(history._storage.read_text(history._path(f"{HOME}/callee", [first["outputs"][0]["path"]])))
    assert record["status"] == STARTED  # marked before the notebook writes
    run_task(workspace, identity_widget(storage_url), tags)  # the same attempt again
    (again,) = folder.iterdir()
    assert json.loads(again.read_text())["notebook_runs"][0]["started"] == first["started"]


def test_outside_a_job_run_nothing_is_recorded_and_a_storage_error_never_fails_the_notebook(workspace, caplog):
    assert run_task(workspace, identity_widget(f"file://{workspace.storage_folder}")) == "done"
    assert not (workspace.storage_folder / "lake/_dtflw").exists()  # no run ids: not a job run
    with caplog.at_level(logging.WARNING, logger="dtflw"):
        assert run_task(workspace, identity_widget("nosuch://bucket/x", "1", "2")) == "done"
    assert "could not record this job task's run: UnknownStorageSchemeError" in caplog.text


def test_deploy_close_of_a_run_the_api_does_not_know_says_so(project):
    _, jobs, _ = project
    closed = CliRunner().invoke(main, ["deploy", "close", "424242", "--profile", "local"], catch_exceptions=False)
    assert closed.exit_code == 1 and "Run 424242 does not exist" in closed.stderr


@pytest.mark.parametrize(
    ("life", "result", "status", "reason"),
    [
        ("TERMINATED", "SUCCESS", RunStatus.SUCCEEDED, None),
        ("TERMINATED", "TIMEDOUT", RunStatus.FAILED, "timedout"),
        ("TERMINATED", "CANCELED", RunStatus.CANCELLED, "cancelled"),
        ("TERMINATED", "UPSTREAM_CANCELED", RunStatus.SKIPPED, "upstream_canceled"),
        ("SKIPPED", None, RunStatus.SKIPPED, "skipped"),
        ("INTERNAL_ERROR", "FAILED", RunStatus.FAILED, "failed"),
    ],
)
def test_a_task_that_never_recorded_itself_gets_a_record_of_its_terminal_state(project, life, result, status, reason):
    workspace, jobs, _ = project
    state = {"life_cycle_state": life, "state_message": "Could not reach the driver"}
    if result:
        state["result_state"] = result
    run = Run.from_dict(
        {
            "run_id": 5,
            "start_time": 1_000,
            "end_time": 9_000,
            "state": {"life_cycle_state": "TERMINATED", "result_state": "FAILED"},
            "tasks": [
                {
                    "task_key": "callee",
                    "run_id": 6,
                    "start_time": 2_000,
                    "end_time": 3_000,
                    "state": state,
                    "notebook_task": {
                        "notebook_path": f"{HOME}/callee",
                        "base_parameters": {
                            JOB_WIDGET: identity_widget(f"file://{workspace.storage_folder}"),
                            "name": "n",
                        },
                    },
                }
            ],
        }
    )
    client = WorkspaceClient(host=jobs.url, token=jobs.token)
    assert close_job_run(client, run) == 2
    graph = LineageGraph.load(LocalStorage(str(workspace.storage_folder), root_dir="lake"))
    ((flow_id, flow),) = graph.flows.items()
    assert (flow_id, flow.status, flow.started, flow.ended) == (job_flow_run_id("5"), RunStatus.FAILED, 1.0, 9.0)
    (recorded,) = graph.runs.values()
    assert (recorded.status, recorded.reason, recorded.started, recorded.ended) == (status, reason, 2.0, 3.0)
    assert (recorded.run_id, recorded.args) == (task_run_record_id("5", "6"), {"name": "n"})
    assert recorded.error == ("Could not reach the driver" if status == RunStatus.FAILED else None)


def test_closing_never_raises_for_a_widget_or_storage_it_cannot_use(project, caplog):
    _, jobs, _ = project
    tasks = [
        {
            "task_key": "bad",
            "run_id": 2,
            "notebook_task": {"notebook_path": "/x", "base_parameters": {JOB_WIDGET: "{"}},
        },
        {
            "task_key": "far",
            "run_id": 3,
            "notebook_task": {"notebook_path": "/x", "base_parameters": {JOB_WIDGET: identity_widget("nosuch://x")}},
        },
        {"task_key": "other", "run_id": 4, "notebook_task": {"notebook_path": "/x"}},  # not exported by dtflw
    ]
    run = Run.from_dict({"run_id": 1, "state": {"life_cycle_state": "TERMINATED"}, "tasks": tasks})
    with caplog.at_level(logging.WARNING, logger="dtflw.deploy"):
        assert close_job_run(WorkspaceClient(host=jobs.url, token=jobs.token), run) == 0
    assert "task bad of run 1: Expecting property name" in caplog.text
    assert "task far of run 1: Storage URL scheme 'nosuch' is unknown" in caplog.text
    assert "task other" not in caplog.text
