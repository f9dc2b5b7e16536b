"""Environments of a deployed flow: bundle variables per target (`--target`, `--var`), dtflw installed on job
clusters, and `dtflw deploy diff` showing what deploying would change in a workspace's job."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from databricks.bundles.jobs import Job
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import JobSettings
from jobs_server import JobsServer, use_profile

from dtflw.cli import main
from dtflw.local.workspace import LocalSettings, LocalWorkspace
from dtflw.version import __version__

LAKE = "abfss://lake@acct.dfs.core.windows.net/retail"
USER = "deployer@example.com"


def deploy(*arguments):
    return CliRunner().invoke(main, ["deploy", *arguments])


def test_variables_are_set_per_target_and_an_earlier_targets_values_are_kept(orchestration, tmp_path):
    _, main_py, _ = orchestration
    out = tmp_path / "bundle"
    common = [str(main_py), "--format", "bundle", "--out", str(out), "--storage", LAKE, "--user", USER]
    prod = "abfss://lake@prodacct.dfs.core.windows.net/retail"
    assert deploy("export", *common, "--target", "prod", "--var", f"storage={prod}").exit_code == 0
    assert deploy("export", *common, "--target", "dev", "--var", "region=south").exit_code == 0
    config = yaml.safe_load((out / "databricks.yml").read_text())
    assert config["variables"]["storage"]["default"] == LAKE and config["variables"]["region"]["default"] == "north"
    # a step passes year=2023 besides the flow's year: pushed down, a `year` parameter would override it
    assert config["variables"]["flow_year"]["default"] == "2024"
    assert config["targets"]["prod"]["variables"] == {"storage": prod}  # kept from the first export
    assert config["targets"]["dev"]["variables"] == {"region": "south"}
    job = yaml.safe_load((out / "resources/main.job.yml").read_text())["resources"]["jobs"]["main"]
    Job.from_dict(job)
    assert {"name": "storage", "default": "${var.storage}"} in job["parameters"]
    unknown = deploy("export", *common, "--var", "yaer=2023")
    assert unknown.exit_code == 1 and "Unknown bundle variable(s) ['yaer']" in unknown.stderr
    assert "flow_year" in unknown.stderr
    assert deploy("export", *common, "--target", "staging", "--var", "region=x").exit_code == 1


def test_a_target_runs_on_its_own_cluster(orchestration, tmp_path):
    _, main_py, _ = orchestration
    out = tmp_path / "bundle"
    common = [str(main_py), "--format", "bundle", "--out", str(out), "--storage", LAKE, "--user", USER]
    result = deploy(
        "export", *common, "--existing-cluster-id", "0101-dev", "--target", "prod", "--var", "cluster_id=0202-prod"
    )
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((out / "databricks.yml").read_text())
    assert config["variables"]["cluster_id"]["default"] == "0101-dev"
    assert config["targets"]["prod"]["variables"] == {"cluster_id": "0202-prod"}
    job = yaml.safe_load((out / "resources/main.job.yml").read_text())["resources"]["jobs"]["main"]
    assert {t["existing_cluster_id"] for t in job["tasks"]} == {"${var.cluster_id}"}
    assert "cluster_id" not in {p["name"] for p in job["parameters"]}  # a bundle variable, not a job parameter


def test_tasks_on_a_cluster_install_dtflw_and_serverless_tasks_do_not(orchestration):
    _, main_py, _ = orchestration
    common = [str(main_py), "--format", "job", "--storage", LAKE, "--user", USER]
    on_cluster = json.loads(deploy("export", *common, "--existing-cluster-id", "0101-abc").stdout)
    assert {json.dumps(t["libraries"]) for t in on_cluster["tasks"]} == {
        json.dumps([{"pypi": {"package": f"dtflw=={__version__}"}}])
    }
    wheel = "/Volumes/main/default/libs/dtflw-1.0.0-py3-none-any.whl"
    own = json.loads(deploy("export", *common, "--existing-cluster-id", "0101-abc", "--package", wheel).stdout)
    assert own["tasks"][0]["libraries"] == [{"pypi": {"package": wheel}}]
    serverless = json.loads(deploy("export", *common).stdout)
    assert all("libraries" not in t for t in serverless["tasks"])


@pytest.fixture
def jobs(orchestration, engine, monkeypatch):
    tmp_path, _, _ = orchestration
    workspace = LocalWorkspace(str(tmp_path), engine, LocalSettings(user=USER))
    with JobsServer(workspace) as server:
        use_profile(server, tmp_path, monkeypatch)
        yield server


def test_diff_shows_what_deploying_would_change_in_the_workspaces_job(orchestration, jobs):
    _, main_py, _ = orchestration
    common = [str(main_py), "--storage", LAKE, "--user", USER, "--profile", "local"]
    missing = deploy("diff", *common, "--exit-code")
    assert (
        missing.exit_code == 1 and "No job named 'main'" in missing.stdout and "creates it (2 tasks)" in missing.stdout
    )
    settings = json.loads(deploy("export", *common[:-2], "--format", "job").stdout)
    client = WorkspaceClient(profile="local")
    job = client.jobs.create(**{k: v for k, v in vars(JobSettings.from_dict(settings)).items() if v})
    same = deploy("diff", *common, "--exit-code")
    assert same.exit_code == 0, same.output
    assert f"Job {job.job_id} ('main') is up to date" in same.stdout
    changed = deploy("diff", *common, "--arg", "region=south", "--schedule", "0 0 6 * * ?", "--exit-code")
    assert changed.exit_code == 1
    assert '-      "default": "north",' in changed.stdout and '+      "default": "south",' in changed.stdout
    assert '+    "quartz_cron_expression": "0 0 6 * * ?",' in changed.stdout
    assert deploy("diff", *common, "--arg", "region=south").exit_code == 0  # without --exit-code: shown only
    assert {p["name"]: p["default"] for p in jobs.jobs[job.job_id]["parameters"]}["region"] == "north"  # unchanged
    gone = deploy("diff", *common, "--job-id", "999")
    assert gone.exit_code == 1 and "Job 999 does not exist" in gone.stderr
