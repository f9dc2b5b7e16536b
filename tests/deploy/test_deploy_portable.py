"""An export is safe and portable: planning it runs no step, starts no Spark and touches no storage; it
holds no path of this machine; the storage and the orchestration's arguments are job parameters, so a
run for another year or storage is a parameter (`jobs run-now`, `dtflw deploy run --param`)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner
from conftest import write
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import JobSettings, RunResultState
from jobs_server import JobsServer

from dtflw.cli import main
from dtflw.deploy.export import job_settings
from dtflw.deploy.parameters import JobParameter, parameterize, resolve
from dtflw.deploy.planned import plan_export
from dtflw.deploy.tasks import DeployTask
from dtflw.errors import LocalStorageExportError
from dtflw.local.workspace import LocalSettings, LocalWorkspace

REPO = pathlib.Path(__file__).resolve().parents[2]
USER = "deployer@example.com"
LAKE = "abfss://lake@acct.dfs.core.windows.net/retail"


def export_in_a_process(tmp_path, *arguments, env=None):
    """`dtflw deploy export` in a process of its own; also says whether pyspark was imported."""
    script = (
        "import sys\nfrom dtflw.cli import main\ncode = 0\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code or 0\n"
        "print('PYSPARK', 'pyspark' in sys.modules, file=sys.stderr)\nsys.exit(code)\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DTFLW_", "DATABRICKS_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", script, "deploy", "export", *arguments],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_runs_no_step_starts_no_spark_and_reads_or_writes_no_storage(orchestration):
    tmp_path, main_py, marker = orchestration
    done = export_in_a_process(tmp_path, str(main_py), "--format", "job", "--storage", LAKE, "--user", USER)
    assert done.returncode == 0, done.stderr
    assert "PYSPARK False" in done.stderr  # no Spark engine, not even its client library
    assert not marker.exists()  # no callee ran
    assert not (tmp_path / ".dtflw").exists()  # no local DBFS, storage or state folder made
    assert "not performed while planning: dbutils.fs.put('dbfs:/marker.txt')" in done.stderr
    # file paths are relative to the container, as inputs' file_path are
    assert "abfss://lake@acct.dfs.core.windows.net/raw/orders.csv: not written" in done.stderr
    assert "_dtflw" not in done.stderr
    assert "DefaultAzureCredential" not in done.stderr and "credential" not in done.stderr.lower()
    settings = json.loads(done.stdout)
    assert [t["task_key"] for t in settings["tasks"]] == ["step", "step_2"]
    assert str(tmp_path) not in done.stdout and os.getcwd() not in done.stdout  # nothing of this machine


def test_a_dbfs_storage_stays_dbfs_in_the_export(orchestration):
    tmp_path, main_py, _ = orchestration
    done = export_in_a_process(tmp_path, str(main_py), "--format", "job", "--storage", "dbfs:/lake", "--user", USER)
    assert done.returncode == 0, done.stderr
    settings = json.loads(done.stdout)
    assert settings["parameters"][0] == {"name": "storage", "default": "dbfs:/lake"}
    first = settings["tasks"][0]["notebook_task"]["base_parameters"]
    assert first["A_out"] == "{{job.parameters.storage}}/p/step/A.parquet"
    assert str(tmp_path) not in done.stdout


def test_a_notebook_that_uses_spark_while_planned_is_refused_naming_what_it_asked_for(orchestration):
    tmp_path, main_py, _ = orchestration
    main_py.write_text(main_py.read_text().replace("flow = init_flow()", "flow = init_flow()\nspark.range(3).count()"))
    done = export_in_a_process(tmp_path, str(main_py), "--format", "job", "--storage", LAKE, "--user", USER)
    assert done.returncode == 1 and done.stdout == ""
    assert "ExportPlanningError" in done.stderr and "spark.range" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("storage", ["./here", "file:///tmp/lake"])
def test_a_storage_of_this_machine_is_refused_saying_what_to_pass(orchestration, storage):
    tmp_path, main_py, _ = orchestration
    result = CliRunner().invoke(
        main,
        ["deploy", "export", str(main_py), "--format", "job", "--out", str(tmp_path / "out"), "--storage", storage],
    )
    assert result.exit_code == 1 and "LocalStorageExportError" in result.stderr
    assert "--storage abfss://" in result.stderr and "dbfs:/" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written
    with pytest.raises(LocalStorageExportError):  # also a storage the notebook opens itself
        main_py.write_text(main_py.read_text().replace("init_flow()", f"init_flow({str(tmp_path / 'own')!r})"))
        plan_export(str(main_py), storage_url=LAKE, user=USER)


def test_the_example_exports_its_storage_and_arguments_as_job_parameters(tmp_path):
    planned = plan_export(str(REPO / "notebooks/main.py"), storage_url=LAKE, user=USER, arguments={"year": "2023"})
    settings = job_settings(planned.tasks, "retail", parameters=planned.parameters)
    assert JobSettings.from_dict(settings).as_dict() == settings
    assert settings["parameters"] == [
        {"name": "storage", "default": LAKE},
        {"name": "year", "default": "2023"},
        {"name": "raw_dir", "default": "raw"},
    ]
    silver = next(t for t in settings["tasks"] if t["task_key"] == "silver_build_sales")["notebook_task"]
    widgets = silver["base_parameters"]
    assert widgets["year"] == "{{job.parameters.year}}"
    assert (
        widgets["SalesOrderItems_out"]
        == "{{job.parameters.storage}}/notebooks/silver/build_sales/SalesOrderItems.delta"
    )
    assert json.loads(widgets["dtflw_job"])["storage"] == "{{job.parameters.storage}}"
    text = json.dumps(settings)
    assert str(REPO) not in text and str(tmp_path) not in text
    assert any("raw/orders.csv" in line for line in planned.skipped)  # the sample copy was not performed


def test_a_parameter_a_step_passes_another_value_under_is_renamed_so_pushdown_cannot_override_it():
    tasks = [
        DeployTask("a", "/n/a", {"year": "2024", "T_out": "dbfs:/lake/n/a/T.parquet"}),
        DeployTask("b", "/n/b", {"year": "2023", "T_in": "dbfs:/lake/n/a/T.parquet", "region": "2024"}),
    ]
    rendered, parameters = parameterize(tasks, "dbfs:/lake", {"year": "2024"})
    assert parameters == [JobParameter("storage", "dbfs:/lake"), JobParameter("flow_year", "2024")]
    assert rendered[0].parameters == {
        "year": "{{job.parameters.flow_year}}",
        "T_out": "{{job.parameters.storage}}/n/a/T.parquet",
    }
    assert rendered[1].parameters["year"] == "2023"  # another value: as exported
    assert rendered[1].parameters["region"] == "{{job.parameters.flow_year}}"
    assert resolve(rendered, parameters, {"flow_year": "2030"})[0].parameters["year"] == "2030"
    with pytest.raises(Exception, match="Unknown job parameter"):
        resolve(rendered, parameters, {"yeer": "1"})


def test_a_job_run_now_for_another_year_and_deploy_run_with_a_param_use_it(orchestration, engine, monkeypatch):
    tmp_path, main_py, marker = orchestration
    storage = tmp_path / "storage"
    planned = plan_export(str(main_py), storage_url=str(storage), user=USER, allow_local_storage=True)
    settings = job_settings(planned.tasks, "params", parameters=planned.parameters)
    workspace = LocalWorkspace(str(tmp_path), engine, LocalSettings(user=USER, storage_url=str(storage)))
    with JobsServer(workspace) as jobs:
        client = WorkspaceClient(host=jobs.url, token=jobs.token)
        job = client.jobs.create(**{k: v for k, v in vars(JobSettings.from_dict(settings)).items() if v})
        run = client.jobs.run_now(job.job_id, job_parameters={"region": "south"}).result()
        assert run.state.result_state == RunResultState.SUCCESS
        assert {p.name: p.value for p in run.job_parameters}["region"] == "south"
        assert marker.read_text().split() == ["south", "b"]
        marker.unlink()
        config = tmp_path / "databrickscfg"
        config.write_text(f"[local]\nhost = {jobs.url}\ntoken = {jobs.token}\n")
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
        arguments = ["deploy", "run", str(main_py), "--profile", "local", "--poll", "0.02", "--storage", str(storage)]
        arguments += ["--user", USER, "--allow-local-storage", "--param", "region=east"]
        result = CliRunner().invoke(main, arguments, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert marker.read_text().split() == ["east", "b"]
        unknown = CliRunner().invoke(main, [*arguments[:-1], "regoin=east"])
        assert unknown.exit_code == 1 and "Unknown job parameter(s) ['regoin']" in unknown.stderr


def test_an_optional_input_is_found_absent_or_present_by_the_task_as_it_runs(tmp_path, engine):
    marker = tmp_path / "seen.txt"
    write(
        tmp_path / "p/read.py",
        f"""\
        # Databricks notebook source
        from dtflw import init_inputs

        with open({str(marker)!r}, "a") as f:
            f.write(repr(init_inputs("X")["X"].value) + "\\n")
        """,
    )
    main_py = write(
        tmp_path / "p/main.py",
        """\
        # Databricks notebook source
        from dtflw import init_flow

        init_flow().notebook("read").input("X", file_path="raw/x.csv", is_optional=True).run()
        """,
    )
    storage = tmp_path / "storage"
    planned = plan_export(str(main_py), storage_url=str(storage), user=USER, allow_local_storage=True)
    settings = job_settings(planned.tasks, "optional", parameters=planned.parameters)
    workspace = LocalWorkspace(str(tmp_path), engine, LocalSettings(user=USER, storage_url=str(storage)))
    with JobsServer(workspace) as jobs:
        client = WorkspaceClient(host=jobs.url, token=jobs.token)
        job = client.jobs.create(**{k: v for k, v in vars(JobSettings.from_dict(settings)).items() if v})
        assert client.jobs.run_now(job.job_id).result().state.result_state == RunResultState.SUCCESS
        write(storage / "raw/x.csv", "a\n1\n")
        assert client.jobs.run_now(job.job_id).result().state.result_state == RunResultState.SUCCESS
    assert marker.read_text().splitlines() == ["''", repr(f"{storage}/raw/x.csv")]


def test_the_deploy_guides_export_commands_work_verbatim_on_a_fresh_clone(tmp_path):
    guide = (REPO / "docs/guides/deploy.md").read_text()
    block = guide[guide.index("# needs no workspace and no credentials:") :].split("```")[0]
    commands = [line for line in block.splitlines()[1:] if line.startswith("dtflw ")][:3]
    assert len(commands) == 3 and all(" deploy export " in c for c in commands)
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("__pycache__"))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DTFLW_", "DATABRICKS_"))}
    environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environ.get("PATH", "")
    for command in commands:
        done = subprocess.run(command, shell=True, cwd=tmp_path, env=environ, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
    settings = json.loads((tmp_path / "retail.job.json").read_text())
    assert len(settings["tasks"]) == 9 and str(tmp_path) not in json.dumps(settings)
    config = yaml.safe_load((tmp_path / "deploy/databricks.yml").read_text())
    assert config["targets"]["prod"]["variables"] == {"storage": "dbfs:/prod/retail"}
    assert not (tmp_path / ".dtflw").exists()  # nothing ran, nothing was written beside the exports
