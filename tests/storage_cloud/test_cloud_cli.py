"""`s3://` and `gs://` wherever a storage URL is given — `--storage`, `$DTFLW_STORAGE`, a pipeline file — and
in a Jobs export, which names the storage by its URL and holds no credential."""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import pytest
from click.testing import CliRunner

from dtflw.cli import main
from storage_cloud.servers import SECRET_KEY

REPO = pathlib.Path(__file__).resolve().parents[2]


def exported(args: list[str], env: dict[str, str]) -> dict:
    result = CliRunner().invoke(main, ["deploy", "export", *args, "--format", "job"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert SECRET_KEY not in result.output
    return json.loads(result.stdout)


def storage_of(settings: dict) -> set[str]:
    """The storage each task's notebook records its run on: the job parameter `storage` it refers to."""
    defaults = {p["name"]: p["default"] for p in settings.get("parameters", [])}
    given = {json.loads(t["notebook_task"]["base_parameters"]["dtflw_job"])["storage"] for t in settings["tasks"]}
    assert given == {"{{job.parameters.storage}}"}
    return {defaults["storage"]}


@pytest.mark.parametrize("given", ["--storage", "DTFLW_STORAGE", "pipeline file"])
def test_a_cloud_storage_url_reaches_the_jobs_export_by_every_way_it_is_given(given, cloud, tmp_path, user_environment):
    env = {**cloud.server.environ, "DTFLW_STORAGE": None}
    url = f"{cloud.scheme}://{cloud.bucket}/team"
    source = str(REPO / "notebooks" / "main.py")
    args = ["--workspace-root", str(REPO)]
    if given == "--storage":
        args += [source, "--storage", url]
    elif given == "DTFLW_STORAGE":
        args += [source]
        env["DTFLW_STORAGE"] = url
    else:  # a copy of the example's pipeline file beside its notebooks, with a storage of its own
        shutil.copytree(REPO / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("data", "tests"))
        pipeline = tmp_path / "notebooks" / "pipeline.yml"
        pipeline.write_text(f"storage: {url}\n" + pipeline.read_text(encoding="utf-8"), encoding="utf-8")
        args = ["--workspace-root", str(tmp_path), str(pipeline)]
    settings = exported(args, env)
    assert storage_of(settings) == {url}
    assert not {"AWS_SECRET_ACCESS_KEY", "GOOGLE_SERVICE_ACCOUNT_KEY"} & set(os.environ)


def test_dtflw_run_on_a_bucket_holds_its_lease_and_writes_the_tables_there(cloud, workspace, user_environment):
    from test_cli import CONSUMER, MAIN, PRODUCER

    from dtflw.storage.lease import lease_for

    workspace.write("p/producer.py", PRODUCER)
    workspace.write("p/consumer.py", CONSUMER)
    workspace.write("p/main.py", MAIN)
    url = f"{cloud.scheme}://{cloud.bucket}/team"
    arguments = ["run", str(workspace.root / "p/main.py"), "--storage", url, "--workspace-root", str(workspace.root)]
    arguments += ["--dbfs-root", str(workspace.dbfs_folder), "--user", "cli@example.com"]
    env = {**cloud.server.environ, "DTFLW_STORAGE": None}

    with lease_for(cloud.storage("team"), "other-run").held():  # another run holds the bucket
        busy = CliRunner().invoke(main, [*arguments, "--wait-for-storage", "0"], env=env)
    assert busy.exit_code == 1 and "StorageBusyError" in busy.stderr and "other-run" in busy.stderr

    result = CliRunner().invoke(main, arguments, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "nobody:3" in result.stdout
    names = cloud.object_names()
    assert any(n.startswith("team/p/producer/T.parquet/") for n in names), names
    assert any(n.startswith("team/p/consumer/U.parquet/") for n in names), names
    assert "team/_dtflw/lease" not in names  # released at the end of the run
    assert not {"AWS_SECRET_ACCESS_KEY", "GOOGLE_SERVICE_ACCOUNT_KEY"} & set(os.environ)
