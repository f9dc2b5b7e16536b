"""A step's exit value in a job: handed to a later step as a task value, or the export refuses the construct
it cannot express (a branch on the value, computing with it) — naming the step."""

from __future__ import annotations

import json

import pytest
from conftest import write
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import JobSettings, RunResultState
from jobs_server import JobsServer

from dtflw.deploy.export import job_settings
from dtflw.deploy.planned import plan_export
from dtflw.errors import ExportPlanningError
from dtflw.local.workspace import LocalSettings, LocalWorkspace

USER = "deployer@example.com"
LAKE = "abfss://lake@acct.dfs.core.windows.net/retail"
COUNT = """\
# Databricks notebook source
from dtflw import init_outputs

spark.range(42).write.mode("overwrite").parquet(init_outputs("A")["A"].value)
dbutils.notebook.exit("42")
"""
USE = """\
# Databricks notebook source
from dtflw import init_args

with open({marker!r}, "w") as f:
    f.write(init_args("rows", "label")["rows"].value + "|" + dbutils.widgets.get("label"))
"""


def orchestration(tmp_path, body: str):
    marker = tmp_path / "used.txt"
    write(tmp_path / "p/count.py", COUNT)
    write(tmp_path / "p/use.py", USE.format(marker=str(marker)))
    main_py = write(
        tmp_path / "p/main.py", "# Databricks notebook source\nfrom dtflw import init_flow\nflow = init_flow()\n" + body
    )
    return main_py, marker


def test_an_exit_value_passed_on_is_a_task_value_the_later_task_reads(tmp_path, engine):
    main_py, marker = orchestration(
        tmp_path,
        'rows = flow.notebook("count").output("A").run()\n'
        'flow.notebook("use").args({"rows": rows, "label": f"n={rows}"}).run()\n',
    )
    storage = tmp_path / "storage"
    planned = plan_export(str(main_py), storage_url=str(storage), user=USER, allow_local_storage=True)
    count, use = planned.tasks
    assert use.parameters["rows"] == "{{tasks.count.values.dtflw_exit}}"
    assert use.parameters["label"] == "n={{tasks.count.values.dtflw_exit}}"
    assert use.depends_on == ["count"]  # no table links them: the task value does
    assert json.loads(count.parameters["dtflw_job"])["exit_value"] == "dtflw_exit"
    settings = job_settings(planned.tasks, "values", parameters=planned.parameters)
    workspace = LocalWorkspace(str(tmp_path), engine, LocalSettings(user=USER, storage_url=str(storage)))
    with JobsServer(workspace) as jobs:
        client = WorkspaceClient(host=jobs.url, token=jobs.token)
        job = client.jobs.create(**{k: v for k, v in vars(JobSettings.from_dict(settings)).items() if v})
        run = client.jobs.run_now(job.job_id).result()
    assert run.state.result_state == RunResultState.SUCCESS
    assert marker.read_text() == "42|n=42"


def test_the_same_orchestration_runs_locally_unchanged(tmp_path, engine):
    main_py, marker = orchestration(
        tmp_path,
        'rows = flow.notebook("count").output("A").run()\nflow.notebook("use").args({"rows": rows, "label": "x"}).run()\n',
    )
    workspace = LocalWorkspace(str(tmp_path), engine, LocalSettings(user=USER, storage_url=str(tmp_path / "s")))
    workspace.run_file(str(main_py))
    assert marker.read_text() == "42|x"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('n = flow.notebook("count").output("A").run()\nif n == "0":\n    flow.notebook("use").run()\n', "(==)"),
        ('import json\nn = json.loads(flow.notebook("count").output("A").run())\n', "json.loads"),
        ('for r in flow.notebook("count").output("A").run():\n    flow.notebook("use").run()\n', "iterated"),
        ('n = int(flow.notebook("count").output("A").run())\n', "int()"),
    ],
)
def test_computing_with_an_exit_value_is_refused_naming_the_step(tmp_path, body, says):
    main_py, _ = orchestration(tmp_path, body)
    with pytest.raises(ExportPlanningError, match="exit value of step 'count'") as refused:
        plan_export(str(main_py), storage_url=LAKE, user=USER)
    assert says in str(refused.value) and "task value" in str(refused.value)


def test_a_branch_on_an_exit_value_that_chooses_steps_is_refused_but_a_final_check_is_not(tmp_path):
    main_py, _ = orchestration(
        tmp_path, 'if flow.notebook("count").output("A").run():\n    pass\nflow.notebook("use").run()\n'
    )
    with pytest.raises(ExportPlanningError, match="checks the exit value of step 'count' and declares 1 step"):
        plan_export(str(main_py), storage_url=LAKE, user=USER)
    main_py.write_text(
        "# Databricks notebook source\nfrom dtflw import init_flow\nflow = init_flow()\n"
        'n = flow.notebook("count").output("A").run()\nflow.notebook("use").run()\n'
        'dbutils.notebook.exit(n if n else "none")\n'  # decides nothing the job runs
    )
    assert [t.key for t in plan_export(str(main_py), storage_url=LAKE, user=USER).tasks] == ["count", "use"]
