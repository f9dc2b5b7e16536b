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
    return {json.loads(t["notebook_task"]["base_parameters"]["dtflw_job"])["storage"] for t in settings["tasks"]}


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
