"""`dtflw deploy export`: a planned flow as Jobs API 2.2 job settings and as an Asset Bundle."""

from __future__ import annotations

import json
import os
import pathlib
import re

import pytest
import yaml
from click.testing import CliRunner
from databricks.bundles.jobs import Job
from databricks.sdk.service.jobs import JobSettings

from dtflw.cli import main
from dtflw.deploy.bundle import bundle_files, write_bundle
from dtflw.deploy.export import Compute, job_settings
from dtflw.deploy.tasks import MAX_TASKS, planned_tasks
from dtflw.errors import DeployError
from dtflw.local.workspace import LocalSettings, LocalWorkspace

REPO = pathlib.Path(__file__).resolve().parents[2]
USER = "deployer@example.com"


def example_tasks(tmp_path, engine, **arguments):
    workspace = LocalWorkspace(str(REPO), engine, LocalSettings(user=USER, storage_url=str(tmp_path / "storage")))
    return planned_tasks(workspace, str(REPO / "notebooks" / "main.py"), arguments)


def test_the_example_becomes_one_notebook_task_per_step_ordered_by_its_tables(tmp_path, engine):
    settings = job_settings(example_tasks(tmp_path, engine, year="2023"), "retail", tags={"team": "bi"})
    assert JobSettings.from_dict(settings).as_dict() == settings
    tasks = {t["task_key"]: t for t in settings["tasks"]}
    assert list(tasks) == [
        "bronze_ingest_orders",
        "bronze_ingest_customers",
        "bronze_ingest_products",
        "silver_build_sales",
        "gold_revenue_by_product",
        "gold_revenue_by_region",
        "gold_shipping_delays",
        "gold_kpi_report",
        "analysis_main",
    ]
    after = {key: sorted(d["task_key"] for d in t.get("depends_on", [])) for key, t in tasks.items()}
    assert after["bronze_ingest_orders"] == []
    assert after["silver_build_sales"] == ["bronze_ingest_customers", "bronze_ingest_orders", "bronze_ingest_products"]
    assert after["gold_kpi_report"] == ["gold_revenue_by_product", "gold_revenue_by_region", "gold_shipping_delays"]
    assert after["analysis_main"] == ["silver_build_sales"]
    storage = tmp_path / "storage"
    silver = tasks["silver_build_sales"]["notebook_task"]
    assert silver["notebook_path"] == f"/Users/{USER}/notebooks/silver/build_sales"
    # the widget by which the task's notebook records its run: the flow, the step, the run as references
    identity = json.loads(silver["base_parameters"]["dtflw_job"])
    assert re.fullmatch(r"[0-9a-f]{16}", identity.pop("source"))  # the notebook source's fingerprint
    assert identity == {
        "storage": f"file://{storage}",
        "root_dir": "",
        "flow": f"/Users/{USER}/notebooks/main",
        "notebook": f"/Users/{USER}/notebooks/silver/build_sales",
        "rel_path": "silver/build_sales",
        "task": "silver_build_sales",
        "tags": [],
        "args": ["year"],
        "inputs": ["Orders", "OrderItems", "Customers", "Products"],
        "outputs": ["SalesOrderItems"],
        "aliases": ["SalesLines"],
        "formats": ["delta"],
        "job_run": "{{job.run_id}}",
        "task_run": "{{task.run_id}}",
    }
    assert {k: v for k, v in silver["base_parameters"].items() if k != "dtflw_job"} == {
        "year": "2023",
        "Orders_in": f"{storage}/notebooks/bronze/ingest_orders/Orders.parquet",
        "OrderItems_in": f"{storage}/notebooks/bronze/ingest_orders/OrderItems.parquet",
        "Customers_in": f"{storage}/notebooks/bronze/ingest_customers/Customers.parquet",
        "Products_in": f"{storage}/notebooks/bronze/ingest_products/Products.parquet",
        "SalesOrderItems_out": f"{storage}/notebooks/silver/build_sales/SalesOrderItems.delta",
    }
    gold = tasks["gold_revenue_by_product"]["notebook_task"]["base_parameters"]
    assert gold["SalesOrderItems_in"] == silver["base_parameters"]["SalesOrderItems_out"]
    # an optional input keeps its path: the task's `init_inputs` gives "" if it is absent as the task runs
    customers = tasks["bronze_ingest_customers"]["notebook_task"]["base_parameters"]
    assert customers["CustomerOverrides_in"] == f"{storage}/raw/customer_overrides.csv"
    assert json.loads(customers["dtflw_job"])["optional"] == ["CustomerOverrides"]
    assert settings["tags"] == {"team": "bi"}
    assert all("existing_cluster_id" not in t and "job_cluster_key" not in t for t in tasks.values())  # serverless


STEP = "dbutils.notebook.exit('ok')"
FLOWS = """
from dtflw import init_flow
flow = init_flow()
flow.notebook("a").output("A").retries(2, backoff=1.5).timeout(600).tags("daily", "bronze").run()
flow.notebook("b").input("A").output("B").run()
flow.notebook("b").input("A").output("B2").args({"again": True}).run()
second = init_flow()
second.notebook("c").output("C").run()
"""


def test_retries_timeout_tags_repeated_notebooks_and_a_second_flow(workspace):
    for name in "abc":
        workspace.write(f"p/{name}.py", STEP)
    workspace.write("p/main.py", FLOWS)
    tasks = planned_tasks(workspace.local, str(workspace.root / "p/main.py"))
    cluster = {"spark_version": "15.4.x-scala2.12", "node_type_id": "Standard_DS3_v2", "num_workers": 2}
    settings = job_settings(tasks, "flows", Compute(new_cluster=cluster))
    assert JobSettings.from_dict(settings).as_dict() == settings
    a, b1, b2, c = settings["tasks"]
    assert [t["task_key"] for t in settings["tasks"]] == ["a", "b", "b_2", "c"]
    assert (a["max_retries"], a["min_retry_interval_millis"], a["timeout_seconds"]) == (2, 1500, 600)
    assert a["description"] == "dtflw tags: daily, bronze"
    assert "max_retries" not in b1 and "timeout_seconds" not in b1
    assert b1["depends_on"] == b2["depends_on"] == [{"task_key": "a"}]
    assert b2["notebook_task"]["base_parameters"]["again"] == "true"
    assert c["depends_on"] == [{"task_key": "b"}, {"task_key": "b_2"}]  # after the first flow's last steps
    assert settings["tags"] == {"daily": "", "bronze": ""}
    assert settings["job_clusters"] == [{"job_cluster_key": "dtflw_cluster", "new_cluster": cluster}]
    assert {t["job_cluster_key"] for t in settings["tasks"]} == {"dtflw_cluster"}
    on_cluster = job_settings(tasks, "flows", Compute(existing_cluster_id="0101-abc"))
    assert {t["existing_cluster_id"] for t in on_cluster["tasks"]} == {"0101-abc"}
    with pytest.raises(DeployError, match="not both"):
        Compute("0101-abc", cluster)


def test_a_secret_argument_is_refused_not_written_into_the_job(workspace):
    workspace.write("p/a.py", STEP)
    workspace.write(
        "p/main.py",
        """
        from dtflw import init_flow
        init_flow().notebook("a").args({"token": "s3cr3t", "day": "1"}, secret="token").run()
        """,
    )
    with pytest.raises(DeployError, match="Notebook 'a' has secret argument\\(s\\) token") as caught:
        planned_tasks(workspace.local, str(workspace.root / "p/main.py"))
    assert "s3cr3t" not in str(caught.value)


def test_more_steps_than_a_job_holds_is_refused(workspace):
    workspace.write("p/a.py", STEP)
    workspace.write(
        "p/main.py",
        f"""
        from dtflw import init_flow
        flow = init_flow()
        for i in range({MAX_TASKS + 1}):
            flow.notebook("a").output(f"T{{i}}").run()
        """,
    )
    with pytest.raises(DeployError, match="1001 notebook steps; a Databricks job holds at most 1000"):
        planned_tasks(workspace.local, str(workspace.root / "p/main.py"))


def test_too_many_or_malformed_job_tags_are_refused(workspace):
    workspace.write("p/a.py", STEP)
    workspace.write("p/main.py", "from dtflw import init_flow\ninit_flow().notebook('a').run()")
    tasks = planned_tasks(workspace.local, str(workspace.root / "p/main.py"))
    with pytest.raises(DeployError, match="at most 25"):
        job_settings(tasks, "x", tags={f"t{i}": "" for i in range(26)})
    with pytest.raises(DeployError, match="not valid Databricks tag keys"):
        job_settings(tasks, "x", tags={"bad\nkey": ""})


def test_a_bundle_points_at_the_notebook_files_and_loads_into_the_bundle_models(tmp_path, engine):
    tasks = example_tasks(tmp_path, engine)
    out = tmp_path / "bundle"
    files = bundle_files(tasks, "retail pipeline", str(out), str(REPO), tags={"team": "bi"}, host="https://adb-1.2")
    written = write_bundle(files, str(out))
    assert sorted(os.path.relpath(p, out) for p in written) == ["databricks.yml", "resources/retail_pipeline.job.yml"]
    config = yaml.safe_load((out / "databricks.yml").read_text())
    assert config["bundle"] == {"name": "retail_pipeline"}
    assert config["include"] == ["resources/*.yml"]
    assert config["targets"]["dev"] == {
        "mode": "development",
        "default": True,
        "workspace": {"host": "https://adb-1.2"},
    }
    assert config["targets"]["prod"]["mode"] == "production"
    synced = (out / config["sync"]["paths"][1]).resolve()
    assert synced == REPO  # the notebooks lie outside the bundle folder: synced along
    job = yaml.safe_load((out / "resources/retail_pipeline.job.yml").read_text())["resources"]["jobs"][
        "retail_pipeline"
    ]
    assert Job.from_dict(job).as_dict() == job
    assert JobSettings.from_dict(job).as_dict() == job
    for task in job["tasks"]:
        source = (out / "resources" / task["notebook_task"]["notebook_path"]).resolve()
        assert source.is_file() and source.suffix == ".py"
        assert source.relative_to(REPO / "notebooks").with_suffix("").as_posix() == task["task_key"].replace(
            "_", "/", 1
        )
    same = job_settings(tasks, "retail pipeline", tags={"team": "bi"})
    assert [t["notebook_task"]["base_parameters"] for t in same["tasks"]] == [
        t["notebook_task"]["base_parameters"] for t in job["tasks"]
    ]


def test_a_bundle_inside_the_project_needs_no_sync_paths(tmp_path, engine):
    tasks = example_tasks(tmp_path, engine)
    config = bundle_files(tasks, "retail", str(REPO), str(REPO))["databricks.yml"]
    assert "sync" not in config and "workspace" not in config["targets"]["dev"]


def cli(*arguments):
    return CliRunner().invoke(main, ["deploy", "export", *arguments], catch_exceptions=False)


def test_the_command_prints_job_json_or_writes_a_bundle(tmp_path):
    common = [str(REPO / "notebooks/main.py"), "--storage", "abfss://lake@acct.dfs.core.windows.net/retail"]
    common += ["--user", USER]
    printed = cli(*common, "--format", "job", "--tag", "team=bi", "--existing-cluster-id", "0101-abc")
    assert printed.exit_code == 0, printed.output
    settings = json.loads(printed.stdout)
    assert settings["name"] == "main" and len(settings["tasks"]) == 9
    assert JobSettings.from_dict(settings).as_dict() == settings
    cluster = tmp_path / "cluster.json"
    cluster.write_text(json.dumps({"spark_version": "15.4.x-scala2.12", "num_workers": 1}))
    to_file = cli(*common, "--format", "job", "--name", "retail", "--new-cluster", str(cluster), "--out", "jobs")
    assert to_file.exit_code == 0, to_file.output
    assert "9 task(s) exported: jobs/retail.job.json" in to_file.stderr
    assert (
        json.loads(pathlib.Path("jobs/retail.job.json").read_text())["job_clusters"][0]["new_cluster"]["num_workers"]
        == 1
    )
    bundle = cli(*common, "--format", "bundle", "--out", "b", "--host", "https://adb-1.2")
    assert bundle.exit_code == 0, bundle.output
    assert pathlib.Path("b/databricks.yml").is_file() and pathlib.Path("b/resources/main.job.yml").is_file()
    assert cli(*common, "--format", "bundle").exit_code == 2  # a bundle needs --out
    both = cli(*common, "--format", "job", "--new-cluster", str(cluster), "--existing-cluster-id", "x")
    assert both.exit_code == 1 and "DeployError" in both.stderr
