"""Expectations in a job: the export adds a check task right after each step declaring them (a
`python_wheel_task` of dtflw), which evaluates them on the job's compute, records the results on the
notebook task's lineage record, and fails — skipping the tasks after it — on a failed blocking one."""

from __future__ import annotations

import json
from importlib.metadata import distribution

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import JobSettings, RunResultState
from jobs_server import JobsServer, deploy_run, use_profile

from dtflw.deploy.bundle import bundle_files
from dtflw.deploy.export import Compute, job_settings
from dtflw.deploy.planned import plan_export
from dtflw.deploy.run_lineage import close_job_run
from dtflw.events import RunStatus
from dtflw.incremental import RunHistory, UnknownHistory
from dtflw.lineage import LineageGraph
from dtflw.run import check_task
from dtflw.storage.local import LocalStorage

USER = "tester@example.com"
LAKE = "abfss://lake@acct.dfs.core.windows.net/retail"
CLEAN = """
from dtflw import init_args, init_outputs
bad = int(init_args({"bad": "0"})["bad"].value)
rows = [(i, None if i < 1 else i, -1 if i < bad else 5) for i in range(10)]
df = spark.createDataFrame(rows, "order_id int, id int, qty int")
df.write.mode("overwrite").parquet(init_outputs("Orders")["Orders"].value)
"""
REPORT = """
from dtflw import init_inputs, init_outputs
spark.read.parquet(init_inputs("Orders")["Orders"].value).write.mode("overwrite").parquet(init_outputs("Report")["Report"].value)
"""
MAIN = """
from dtflw import init_flow, init_args
bad = init_args({"bad": "0"})["bad"].value
flow = init_flow()
flow.notebook("clean").args({"bad": bad}).output(
    "Orders",
    expect={"id_present": "id IS NOT NULL"},
    expect_or_fail={"qty_positive": "qty > 0"},
    expect_table={"unique": ["order_id"], "min_rows": 1},
).run()
flow.notebook("report").input("Orders").output("Report").run()
"""


@pytest.fixture
def project(workspace):
    workspace.write("p/clean.py", CLEAN)
    workspace.write("p/report.py", REPORT)
    workspace.write("p/main.py", MAIN)
    return workspace


def by_key(settings: dict) -> dict[str, dict]:
    return {t["task_key"]: t for t in settings["tasks"]}


def test_the_export_adds_a_check_task_the_sdk_and_bundles_accept(project):
    from databricks.bundles.jobs import Job

    planned = plan_export(str(project.root / "p/main.py"), storage_url=LAKE, user=USER)
    assert [(t.key, t.kind, t.depends_on) for t in planned.tasks] == [
        ("clean", "notebook", []),
        ("clean_check", "check", ["clean"]),
        ("report", "notebook", ["clean_check"]),  # a failed check skips it
    ]
    serverless = job_settings(planned.tasks, "orders", parameters=planned.parameters, package="dtflw==1.0.0")
    assert JobSettings.from_dict(serverless).as_dict() == serverless
    check = by_key(serverless)["clean_check"]
    assert check["environment_key"] == "dtflw" and "notebook_task" not in check
    assert serverless["environments"] == [
        {"environment_key": "dtflw", "spec": {"environment_version": "2", "dependencies": ["dtflw==1.0.0"]}}
    ]
    wheel = check["python_wheel_task"]
    assert (wheel["package_name"], wheel["entry_point"]) == ("dtflw", "dtflw-check-task")
    given = check_task.parameters(wheel["parameters"])
    assert given["Orders_out"] == "{{job.parameters.storage}}/p/clean/Orders.parquet"
    identity = json.loads(given["dtflw_job"])
    assert identity["storage"] == "{{job.parameters.storage}}" and identity["task"] == "clean"
    assert (identity["job_run"], identity["task_run"]) == ("{{job.run_id}}", "{{tasks.clean.run_id}}")
    declared = check_task.decode(given["expectations"])
    assert [(e.name, e.action) for e in declared["Orders"]] == [
        ("id_present", "warn"),
        ("qty_positive", "fail"),
        ("unique", "fail"),
        ("min_rows", "fail"),
    ]
    assert declared["Orders"][2].param == ("order_id",) and declared["Orders"][3].param == 1
    # the entry point the task names is dtflw's
    (entry,) = [e for e in distribution("dtflw").entry_points if e.name == wheel["entry_point"]]
    assert entry.load() is check_task.main

    on_cluster = job_settings(
        planned.tasks,
        "orders",
        Compute(new_cluster={"spark_version": "15.4.x-scala2.12", "num_workers": 1}),
        parameters=planned.parameters,
        package="dtflw==1.0.0",
    )
    assert JobSettings.from_dict(on_cluster).as_dict() == on_cluster and "environments" not in on_cluster
    check = by_key(on_cluster)["clean_check"]
    assert check["job_cluster_key"] == "dtflw_cluster" and "environment_key" not in check
    assert check["libraries"] == [{"pypi": {"package": "dtflw==1.0.0"}}]

    files = bundle_files(
        planned.tasks, "orders", str(project.root / "bundle"), planned.notebooks_root, parameters=planned.parameters
    )
    (resource,) = [d for name, d in files.items() if name.startswith("resources/")]
    (job,) = resource["resources"]["jobs"].values()
    assert Job.from_dict(job).as_dict()["tasks"][1]["python_wheel_task"]["entry_point"] == "dtflw-check-task"
    assert by_key(job)["clean_check"]["environment_key"] == "dtflw"


def run_job(workspace, settings: dict, **job_parameters):
    with JobsServer(workspace.local) as jobs:
        client = WorkspaceClient(host=jobs.url, token=jobs.token)
        job = client.jobs.create(**{k: v for k, v in vars(JobSettings.from_dict(settings)).items() if v})
        run = client.jobs.run_now(job.job_id, job_parameters=job_parameters or None).result()
        close_job_run(client, run)  # as `dtflw deploy run` does once the run has ended
        outputs = {t.task_key: client.jobs.get_run_output(t.run_id) for t in run.tasks}
    return run, outputs


def planned_settings(workspace):
    storage = str(workspace.storage_folder)
    planned = plan_export(str(workspace.root / "p/main.py"), storage_url=storage, user=USER, allow_local_storage=True)
    return job_settings(planned.tasks, "orders", parameters=planned.parameters)


def clean_record(workspace):
    graph = LineageGraph.load(LocalStorage(str(workspace.storage_folder)))
    (run,) = [r for r in graph.runs.values() if r.notebook_path.endswith("/p/clean")]
    return run, {r.name: r for r in run.expectations}


def test_a_job_with_a_warn_expectation_succeeds_and_records_the_results_on_the_notebook_run(project):
    run, _ = run_job(project, planned_settings(project))
    assert run.state.result_state == RunResultState.SUCCESS
    assert [t.task_key for t in run.tasks] == ["clean", "clean_check", "report"]
    record, results = clean_record(project)
    assert record.status == RunStatus.SUCCEEDED
    assert (results["id_present"].failed, results["id_present"].passed) == (1, 9)
    assert results["qty_positive"].ok and results["unique"].ok and results["min_rows"].ok


def test_a_failed_blocking_expectation_fails_the_check_task_and_skips_its_dependents(project):
    run, outputs = run_job(project, planned_settings(project), bad="2")
    assert run.state.result_state == RunResultState.FAILED
    states = {t.task_key: t.state.result_state.value for t in run.tasks}
    assert states == {"clean": "SUCCESS", "clean_check": "FAILED", "report": "UPSTREAM_FAILED"}
    error = outputs["clean_check"].error
    assert error.startswith("ExpectationFailedError: Notebook '/Users/tester@example.com/p/clean' wrote output(s)")
    assert "Orders.qty_positive (qty > 0, fail): 2 of 10 rows failed" in error
    assert "failing row: {'order_id': '0', 'id': None, 'qty': '-1'}" in error, error

    assert "The table is kept as written but not published; steps reading it do not run." in error

    record, results = clean_record(project)
    assert record.status == RunStatus.FAILED and "Orders.qty_positive (qty > 0, fail)" in record.error
    assert (results["qty_positive"].failed, results["id_present"].failed) == (2, 1)
    assert [s["qty"] for s in results["qty_positive"].samples] == ["-1", "-1"]
    # not taken as a success: a lazy run of the flow runs the step again
    orders = f"{project.storage_folder}/p/clean/Orders.parquet"
    assert isinstance(
        RunHistory(LocalStorage(str(project.storage_folder))).last(record.notebook_path, [orders]), UnknownHistory
    )


def test_deploy_run_carries_the_check_and_fails_on_a_blocking_expectation(project, tmp_path, monkeypatch):
    with JobsServer(project.local) as jobs:
        use_profile(jobs, tmp_path, monkeypatch)
        passed = deploy_run(project)
        assert passed.exit_code == 0, passed.output
        failed = deploy_run(project, "--param", "bad=2")
    assert failed.exit_code == 1
    assert "clean_check" in failed.output and "qty_positive" in failed.output
    ran = [r for r in jobs.runs.values()]
    assert [t.key for t in ran[-1].tasks] == ["clean", "clean_check", "report"]
    assert [t.result for t in ran[-1].tasks] == ["SUCCESS", "FAILED", "UPSTREAM_FAILED"]


def check_arguments(workspace) -> list[str]:
    """The check task's arguments of the export of `workspace`'s flow, job parameters filled in."""
    from dtflw.deploy.parameters import resolve

    storage = str(workspace.storage_folder)
    planned = plan_export(str(workspace.root / "p/main.py"), storage_url=storage, user=USER, allow_local_storage=True)
    settings = job_settings(resolve(planned.tasks, planned.parameters, {}), "orders")
    return by_key(settings)["clean_check"]["python_wheel_task"]["parameters"]


def test_the_check_task_refuses_what_the_export_did_not_write_and_a_table_not_there(project, spark, caplog):
    from dtflw.errors import ExpectationError, ExpectationFailedError

    for bad in ('{"table": "Orders"}', '[{"table": "T", "name": "n", "rule": "nope", "expression": "x", '
                '"action": "fail", "param": null}]', "not json"):  # fmt: skip
        with pytest.raises(ExpectationError, match="not what `dtflw deploy export` wrote"):
            check_task.decode(bad)
    with pytest.raises(ExpectationError, match="needs --dtflw_job and --expectations"):
        check_task.main(["--dtflw_job={}"], spark=spark)

    arguments = check_arguments(project)
    with pytest.raises(
        ExpectationError, match="Output 'Orders' of notebook '/Users/tester@example.com/p/clean' is not"
    ):
        check_task.main(arguments, spark=spark)  # the notebook's task wrote nothing

    orders = f"{project.storage_folder}/p/clean/Orders.parquet"
    spark.createDataFrame([(1, 1, -3)], "order_id int, id int, qty int").write.mode("overwrite").parquet(orders)
    with pytest.raises(ExpectationFailedError, match=r"Orders.qty_positive \(qty > 0, fail\): 1 of 1 rows failed"):
        check_task.main(arguments, spark=spark)
    assert "runs outside a job run: not recorded" in caplog.text  # {{job.run_id}} left as is: no run to record in

    ran = [a.replace("{{job.run_id}}", "7").replace("{{tasks.clean.run_id}}", "8") for a in arguments]
    with pytest.raises(ExpectationFailedError):
        check_task.main(ran, spark=spark)
    assert "no record of task clean" in caplog.text  # the notebook never recorded its run: warned, still failed


def test_the_jobs_api_stand_in_runs_a_wheel_task_with_named_parameters_and_fails_it_on_an_error(project):
    wheel = {"package_name": "dtflw", "entry_point": "dtflw-check-task", "named_parameters": {"dtflw_job": "{}"}}
    settings = {
        "name": "wheel",
        "parameters": [{"name": "storage", "default": "x"}],
        "tasks": [
            {"task_key": "check", "python_wheel_task": wheel},
            {"task_key": "missing", "python_wheel_task": {"package_name": "no-such-package", "entry_point": "main"}},
        ],
    }
    run, outputs = run_job(project, settings)
    assert {t.task_key: t.state.result_state.value for t in run.tasks} == {"check": "FAILED", "missing": "FAILED"}
    assert outputs["check"].error == (
        "ExpectationError: The check task needs --dtflw_job and --expectations; export the job again."
    )
    assert "package 'no-such-package' is not installed" in run.tasks[1].state.state_message
