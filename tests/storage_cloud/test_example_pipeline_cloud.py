"""The example pipeline with its storage on S3 (moto) and GCS (fake-gcs-server), on the default engine: the
same tables as a local run, credentials only in the engine's own process, and a lazy re-run skips every
notebook."""

from __future__ import annotations

import json
import os

import pytest
from chispa import assert_df_equality
from click.testing import CliRunner
from test_example_pipeline import GOLD, REPO, SAMPLE, run_pipeline
from testkit import Decisions

from dtflw.cli import main
from dtflw.core.options import RunOptions
from dtflw.local.workspace import LocalSettings, LocalWorkspace
from dtflw.storage import from_url
from storage_cloud.servers import SECRET_KEY

pytestmark = pytest.mark.slow
ENGINE_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GOOGLE_SERVICE_ACCOUNT_KEY")


@pytest.fixture
def signed_in(cloud, tmp_path, user_environment):
    """The user's shell: an AWS profile in the shared credentials file (no keys in the environment), or
    the GCS emulator's variable."""
    if cloud.scheme == "s3":
        env = cloud.server.environ
        (tmp_path / "credentials").write_text(
            f"[dev]\naws_access_key_id = {env['AWS_ACCESS_KEY_ID']}\naws_secret_access_key = {SECRET_KEY}\n",
            encoding="utf-8",
        )
        (tmp_path / "config").write_text(f"[profile dev]\nregion = {env['AWS_DEFAULT_REGION']}\n", encoding="utf-8")
        os.environ.update(
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
            AWS_CONFIG_FILE=str(tmp_path / "config"),
            AWS_PROFILE="dev",
            AWS_ENDPOINT_URL=env["AWS_ENDPOINT_URL"],
        )
    else:
        os.environ.update(cloud.server.environ)


def test_the_example_pipeline_runs_on_the_cloud_storage_and_matches_the_local_run(tmp_path, engine, cloud, signed_in):
    for csv in SAMPLE.iterdir():
        cloud.put(f"raw/{csv.name}", csv.read_bytes())
    url = f"{cloud.scheme}://{cloud.bucket}/"
    decisions = Decisions()
    workspace = LocalWorkspace(
        str(REPO),
        engine,
        LocalSettings(user="tester", storage_url=url, dbfs_folder=str(tmp_path / "dbfs")),
        RunOptions(listeners=[decisions], force_lazy=True),
    )
    summary = json.loads(workspace.run_file(str(REPO / "notebooks" / "main.py")))
    first = decisions.take()
    assert first and all(status == "succeeded" for status, _ in first.values()), first
    assert not set(ENGINE_SECRETS) & set(os.environ), "the engine got the credentials in its own process"

    storage = from_url(url)
    local_summary, _ = run_pipeline(tmp_path, engine)
    spark = engine.new_session()  # a session on the server that can reach the storage
    try:
        for table in GOLD:
            on_cloud = summary["tables"][table]
            assert on_cloud.startswith(f"{url}notebooks/")
            state = storage.table_state(on_cloud)
            assert state.exists, f"{table} is complete on {cloud.scheme}"
            cloud_df = spark.read.format(state.format).load(on_cloud)
            local_df = spark.read.format(state.format).load(local_summary["tables"][table])
            assert_df_equality(cloud_df, local_df, ignore_row_order=True, ignore_nullable=True)
    finally:
        spark.stop()  # before the engine's server stops: a client left open retries at exit for minutes
    assert storage.table_state(summary["tables"]["SalesLines"]).version == 0
    assert any("_dtflw/" in key for key in cloud.object_names()), "run state and lineage documents are on the bucket"

    workspace.run_file(str(REPO / "notebooks" / "main.py"))
    again = decisions.take()
    # analysis/main is skipped as a whole: the notebooks it runs itself are not even reached
    assert again == {name: ("skipped", "up to date") for name in first if name in again}, again
    assert {"ingest_orders", "build_sales", "kpi_report", "main"} <= set(again)
    assert not any(SECRET_KEY in key for key in cloud.object_names())

    report = tmp_path / "lineage.html"  # the HTML report of the lineage the runs recorded on the bucket
    result = CliRunner().invoke(main, ["lineage", "export", "--format", "html", "--out", str(report), "--storage", url])
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert f"{url}notebooks/silver/build_sales/SalesOrderItems.delta" in html and SECRET_KEY not in html
