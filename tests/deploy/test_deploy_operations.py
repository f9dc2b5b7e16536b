"""Operations of a deployed job — schedule, notifications, concurrency, run-as, health, queue, permissions —
from options or a pipeline file's `deploy:` section, checked before anything is written."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from click.testing import CliRunner
from databricks.bundles.jobs import Job
from databricks.sdk.service.jobs import JobAccessControlRequest, JobSettings

from dtflw.cli import main
from dtflw.deploy.operations import Operations
from dtflw.errors import DeployError

LAKE = "abfss://lake@acct.dfs.core.windows.net/retail"
PIPELINE = """\
name: nightly
deploy:
  schedule: {cron: "0 0 6 * * ?", timezone: Europe/Amsterdam}
  email_on_failure: [data-team@example.com]
  max_concurrent_runs: 2
  run_as: etl@example.com
  max_duration_seconds: 3600
  queue: true
  permissions: {CAN_MANAGE_RUN: ["group:analysts"], CAN_VIEW: ["user:ana@example.com"]}
steps:
  - {notebook: step, outputs: [A]}
"""


@pytest.fixture
def pipeline(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p/step.py").write_text("# Databricks notebook source\ndbutils.notebook.exit('ok')\n")
    path = tmp_path / "p/pipeline.yml"
    path.write_text(PIPELINE)
    return path


def export(*arguments):
    return CliRunner().invoke(main, ["deploy", "export", *arguments, "--storage", LAKE])


def test_a_pipeline_files_deploy_section_becomes_the_jobs_operations(pipeline):
    result = export(str(pipeline), "--format", "job")
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)
    acl = settings.pop("access_control_list")  # jobs/create takes it beside the job's settings
    assert JobSettings.from_dict(settings).as_dict() == settings  # the shapes jobs/create takes
    assert [JobAccessControlRequest.from_dict(e).as_dict() for e in acl] == acl
    assert settings["schedule"] == {
        "quartz_cron_expression": "0 0 6 * * ?",
        "timezone_id": "Europe/Amsterdam",
        "pause_status": "UNPAUSED",
    }
    assert settings["email_notifications"] == {"on_failure": ["data-team@example.com"]}
    assert settings["max_concurrent_runs"] == 2 and settings["queue"] == {"enabled": True}
    assert settings["run_as"] == {"user_name": "etl@example.com"}
    assert settings["health"]["rules"] == [{"metric": "RUN_DURATION_SECONDS", "op": "GREATER_THAN", "value": 3600}]
    assert acl == [
        {"group_name": "analysts", "permission_level": "CAN_MANAGE_RUN"},
        {"user_name": "ana@example.com", "permission_level": "CAN_VIEW"},
    ]


def test_options_win_over_the_section_and_a_bundle_carries_them_as_its_models_say(pipeline, tmp_path):
    out = tmp_path / "bundle"
    result = export(
        str(pipeline), "--format", "bundle", "--out", str(out), "--max-concurrent-runs", "5",
        "--run-as", "0a1b2c3d-sp", "--permission", "IS_OWNER=sp:0a1b2c3d-sp", "--no-queue",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    job = yaml.safe_load((out / "resources/nightly.job.yml").read_text())["resources"]["jobs"]["nightly"]
    Job.from_dict(job)  # databricks-bundles' strict model of a job resource
    assert job["max_concurrent_runs"] == 5 and job["queue"] == {"enabled": False}
    assert job["run_as"] == {"service_principal_name": "0a1b2c3d-sp"}
    assert {"level": "IS_OWNER", "service_principal_name": "0a1b2c3d-sp"} in job["permissions"]
    assert job["schedule"]["timezone_id"] == "Europe/Amsterdam"  # from the section


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"cron": "every morning"}, "not a Quartz cron expression"),
        ({"timezone": "Mars/Olympus"}, "not a time zone id"),
        ({"max_concurrent_runs": 0}, "max_concurrent_runs 0"),
        ({"permissions": {"CAN_RUN": ("user:a@b",)}}, "permission level 'CAN_RUN'"),
        ({"permissions": {"CAN_VIEW": ("ana",)}}, "user:<name>, group:<name> or sp:<application id>"),
    ],
)
def test_bad_operations_are_a_typed_error_before_anything_is_written(tmp_path, change, says):
    with pytest.raises(DeployError, match=says):
        Operations(**change)
    if "cron" in change:
        bad = tmp_path / "p/pipeline.yml"
        bad.parent.mkdir()
        (tmp_path / "p/step.py").write_text("# Databricks notebook source\n")
        bad.write_text(textwrap.dedent(PIPELINE).replace("0 0 6 * * ?", change["cron"]))
        result = export(str(bad), "--format", "job", "--out", str(tmp_path / "out"))
        assert result.exit_code == 1 and says in result.stderr
        assert not (tmp_path / "out").exists()


def test_a_deploy_section_with_an_unknown_key_is_named_by_file_and_line(pipeline):
    pipeline.write_text(PIPELINE.replace("  queue: true", "  queu: true"))
    result = export(str(pipeline), "--format", "job")
    assert result.exit_code == 1
    assert ":8: deploy.queu: unknown key 'queu' (did you mean 'queue'?)" in result.stderr


def test_a_pipeline_steps_name_appears_in_its_task(pipeline):
    pipeline.write_text(
        PIPELINE.replace("{notebook: step, outputs: [A]}", "{notebook: step, name: load, outputs: [A]}")
    )
    settings = json.loads(export(str(pipeline), "--format", "job").stdout)
    assert settings["tasks"][0]["description"] == "dtflw step 'load'"
