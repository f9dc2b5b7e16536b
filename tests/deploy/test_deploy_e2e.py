"""The example pipeline deployed "remotely": exported as a job and run on the local Jobs API server (its
notebooks record their own lineage), and orchestrated from here with JobsRunner — every table checked,
and the lineage of both runs."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import JobSettings, RunResultState, Task
from jobs_server import JobsServer
from test_example_pipeline import BRONZE, GOLD, REPO, SAMPLE, assert_table, expected

from dtflw.cli import main
from dtflw.deploy.export import job_settings
from dtflw.deploy.jobs_runner import JobsRunner
from dtflw.deploy.tasks import planned_tasks
from dtflw.events import RunStatus
from dtflw.lineage import LineageGraph
from dtflw.local.workspace import LocalSettings, LocalWorkspace
from dtflw.runtime.task_lineage import job_flow_run_id
from dtflw.storage.local import LocalStorage

pytestmark = pytest.mark.slow
USER = "tester@example.com"
# the step writing each table, and the widget it writes it through
PRODUCERS = {
    "SalesLines": ("silver_build_sales", "SalesOrderItems_out"),
    "ProductRevenue": ("gold_revenue_by_product", "ProductRevenue_out"),
    "RegionRevenue": ("gold_revenue_by_region", "RegionRevenue_out"),
    "ShippingDelays": ("gold_shipping_delays", "ShippingDelays_out"),
    "KpiReport": ("gold_kpi_report", "KpiReport_out"),
    "MonthlyRevenue": ("analysis_main", "MonthlyRevenue_out"),
    "CustomerSegments": ("analysis_main", "CustomerSegments_out"),
}


@pytest.fixture
def storage(tmp_path):
    folder = tmp_path / "storage"
    shutil.copytree(SAMPLE, folder / "raw")
    return folder


def local_workspace(cls, tmp_path, engine, storage):
    return cls(
        str(REPO), engine, LocalSettings(user=USER, storage_url=str(storage), dbfs_folder=str(tmp_path / "dbfs"))
    )


def assert_every_table(spark, storage, paths: dict[str, str], year: int) -> None:
    tables = expected.expected_tables(str(SAMPLE), year)
    for table in GOLD:
        name = "SalesOrderItems" if table == "SalesLines" else table
        assert_table(spark, storage, paths[table], table, tables[name])
    for table, notebook in BRONZE.items():
        assert_table(
            spark, storage, str(storage / f"notebooks/bronze/{notebook}/{table}.parquet"), table, tables[table]
        )


def test_the_exported_job_created_and_run_on_the_jobs_api_writes_every_table_and_its_lineage(
    tmp_path, engine, spark, storage, monkeypatch
):
    workspace = local_workspace(LocalWorkspace, tmp_path, engine, storage)
    settings = job_settings(planned_tasks(workspace, str(REPO / "notebooks/main.py"), {"year": "2023"}), "retail")
    assert list(storage.glob("notebooks/**/*.parquet")) == []  # planning ran no notebook
    with JobsServer(workspace) as jobs:
        client = WorkspaceClient(host=jobs.url, token=jobs.token)
        created = client.jobs.create(**{k: v for k, v in vars(JobSettings.from_dict(settings)).items() if v})
        assert created.job_id in jobs.jobs
        assert [Task.from_dict(t).as_dict() for t in jobs.jobs[created.job_id]["tasks"]] == settings["tasks"]
        run = client.jobs.run_now(created.job_id).result()
        errors = {t.task_key: client.jobs.get_run_output(t.run_id).error for t in run.tasks}
        assert run.state.result_state == RunResultState.SUCCESS, {k: e for k, e in errors.items() if e}
        assert {t.task_key: t.state.result_state for t in run.tasks} == {
            t["task_key"]: RunResultState.SUCCESS for t in settings["tasks"]
        }
        widgets = {t["task_key"]: t["notebook_task"]["base_parameters"] for t in settings["tasks"]}
        paths = {table: widgets[task][widget] for table, (task, widget) in PRODUCERS.items()}
        assert_every_table(spark, storage, paths, 2023)
        assert_lineage_of_the_job_run(storage, jobs, run, paths, monkeypatch)


def assert_lineage_of_the_job_run(storage, jobs, run, paths, monkeypatch) -> None:
    """Each task's notebook recorded its run; `dtflw deploy close` gave each its end: one flow, like a local run."""
    graph = LineageGraph.load(LocalStorage(str(storage)))
    flow_run_id = job_flow_run_id(str(run.run_id))
    recorded = [r for r in graph.runs.values() if r.flow_run_id == flow_run_id]
    assert len(recorded) == 9 and {r.status for r in recorded} == {RunStatus.RUNNING}  # no hook at a notebook's end
    monkeypatch.setenv("DATABRICKS_HOST", jobs.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", jobs.token)
    closed = CliRunner().invoke(main, ["deploy", "close", str(run.run_id)], catch_exceptions=False)
    assert closed.exit_code == 0, closed.output
    graph = LineageGraph.load(LocalStorage(str(storage)))
    job_flow = graph.flows[flow_run_id]
    assert (job_flow.notebook_path, job_flow.status) == (f"/Users/{USER}/notebooks/main", RunStatus.SUCCEEDED)
    tasks = [r for r in graph.runs.values() if r.flow_run_id == job_flow.run_id]
    assert sorted(r.rel_path for r in tasks) == sorted(
        ["bronze/ingest_orders", "bronze/ingest_customers", "bronze/ingest_products", "silver/build_sales"]
        + [f"gold/{nb}" for nb in ("revenue_by_product", "revenue_by_region", "shipping_delays", "kpi_report")]
        + ["analysis/main"]
    )
    assert {r.status for r in tasks} == {RunStatus.SUCCEEDED}
    kpi = graph.latest_producer(paths["KpiReport"])
    assert kpi.notebook_path == f"/Users/{USER}/notebooks/gold/kpi_report" and kpi.flow_run_id == job_flow.run_id
    assert sorted(u.name for u in kpi.inputs) == ["ProductRevenue", "RegionRevenue", "ShippingDelays"]
    assert {u.path for u in kpi.inputs} == {paths[t] for t in ("ProductRevenue", "RegionRevenue", "ShippingDelays")}
    assert all(u.state.exists and u.row_count for u in kpi.inputs + kpi.outputs)
    # analysis/main opens a flow of its own in its task: a child of the task's run
    (nested,) = [f for f in graph.flows.values() if f.run_id != job_flow.run_id]
    analysis = next(r for r in tasks if r.rel_path == "analysis/main")
    assert nested.parent_run_id == analysis.run_id and nested.status == RunStatus.SUCCEEDED
    assert (len(graph.flows), len(graph.runs)) == (2, 11)


class RemoteStepsWorkspace(LocalWorkspace):
    """Runs the orchestration notebook here; the steps it runs go to `jobs_runner`."""

    jobs_runner: JobsRunner

    def runtime_for(self, workspace_path, *args, **kwargs):
        runtime = super().runtime_for(workspace_path, *args, **kwargs)
        runtime.runner = self.jobs_runner
        return runtime


def test_jobs_runner_runs_the_example_steps_remotely_and_lineage_is_recorded_here(tmp_path, engine, spark, storage):
    remote = local_workspace(LocalWorkspace, tmp_path, engine, storage)
    here = local_workspace(RemoteStepsWorkspace, tmp_path, engine, storage)
    with JobsServer(remote) as jobs:
        client = WorkspaceClient(host=jobs.url, token=jobs.token)
        here.jobs_runner = JobsRunner(client, base_path=f"/Users/{USER}/notebooks", poll=(0.02, 0.2))
        summary = json.loads(here.run_file(str(REPO / "notebooks/main.py"), {"year": "2024"}))
    assert len(jobs.runs) == 9 and {r.result for r in jobs.runs.values()} == {"SUCCESS"}
    assert_every_table(spark, storage, summary["tables"], 2024)
    assert summary["runs"]["silver/build_sales"]["SalesOrderItems"] == len(
        expected.expected_tables(str(SAMPLE), 2024)["SalesOrderItems"]
    )
    graph = LineageGraph.load(LocalStorage(str(storage)))
    kpi = graph.latest_producer(summary["tables"]["KpiReport"])
    assert kpi.notebook_path == f"/Users/{USER}/notebooks/gold/kpi_report"
    assert sorted(u.name for u in kpi.inputs) == ["ProductRevenue", "RegionRevenue", "ShippingDelays"]
    silver = graph.latest_producer(summary["tables"]["SalesLines"])
    assert {u.path for u in silver.inputs} == {
        str(storage / f"notebooks/bronze/{nb}/{t}.parquet") for t, nb in BRONZE.items()
    }
    # the nested flow of analysis/main ran on the "cluster" and recorded its own steps there
    producers = {r.notebook_path for r in graph.producers(summary["tables"]["MonthlyRevenue"])}
    assert producers == {f"/Users/{USER}/notebooks/analysis/{nb}" for nb in ("main", "monthly_revenue")}
    assert (len(graph.flows), len(graph.runs)) == (2, 11)
