"""S3 and GCS failures become typed errors naming bucket and path: no such bucket, access denied,
throttling (bounded retries), an endpoint that does not answer (bounded wait), a missing extra, and the
JVM engine, which cannot reach either here. No key ever shows in a message."""

from __future__ import annotations

import json
import sys
import time
from types import SimpleNamespace

import pytest

from dtflw.engines.jvm import JvmEngine
from dtflw.errors import (
    EngineUnavailableError,
    InvalidStorageNameError,
    MissingExtraError,
    StorageCredentialsError,
    StorageError,
    StorageUnavailableError,
)
from dtflw.storage import from_url, gcs, s3
from dtflw.storage.environment import StorageEnvironment
from dtflw.storage.gcs import GcsCredentials, GcsStorage
from dtflw.storage.s3 import S3Credentials, S3Storage
from storage_cloud.servers import SECRET_KEY, FaultServer, MotoS3, free_port

S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1"}


def s3_at(endpoint: str, bucket: str = "data-bucket", **options) -> S3Storage:
    return s3.init_storage(bucket, "root", environ={**S3_KEYS, "AWS_ENDPOINT_URL": endpoint}, **options)


def gcs_at(endpoint: str, bucket: str = "data-bucket", **options) -> GcsStorage:
    return gcs.init_storage(bucket, "root", environ={"STORAGE_EMULATOR_HOST": endpoint}, **options)


@pytest.mark.parametrize(
    "scheme", [pytest.param("s3", marks=pytest.mark.s3), pytest.param("gs", marks=pytest.mark.gcs)]
)
def test_a_missing_bucket_is_named(scheme, request):
    server = request.getfixturevalue("moto_s3" if scheme == "s3" else "fake_gcs")
    storage = (s3_at if scheme == "s3" else gcs_at)(server.endpoint, bucket="no-such-bucket")
    with pytest.raises(StorageUnavailableError, match=r"'no-such-bucket' does not exist.*create it") as error:
        storage.exists("root/T.parquet")
    assert f"{scheme}://no-such-bucket/root/T.parquet" in str(error.value)
    with pytest.raises(StorageUnavailableError, match="no-such-bucket"):
        storage.read_text("root/_dtflw/state.json")
    with pytest.raises(StorageUnavailableError, match="no-such-bucket"):
        storage.write_text("root/_dtflw/state.json", "{}")


@pytest.mark.s3
@pytest.mark.parametrize(
    ("status", "code", "error", "attempts"),
    [
        (403, "AccessDenied", StorageCredentialsError, 1),
        (403, "InvalidAccessKeyId", StorageCredentialsError, 1),
        (503, "SlowDown", StorageUnavailableError, 3),
        (500, "InternalError", StorageUnavailableError, 3),
    ],
)
def test_s3_denials_and_throttling_become_typed_errors_after_bounded_retries(status, code, error, attempts):
    with FaultServer.s3(status, code) as server:
        storage = s3_at(server.url, retries=2)
        with pytest.raises(error, match=r"'data-bucket'") as raised:
            storage.exists("root/T.parquet")
    assert server.count == attempts
    assert "s3://data-bucket/root/T.parquet" in str(raised.value)
    assert SECRET_KEY not in str(raised.value)


@pytest.mark.gcs
@pytest.mark.parametrize(
    ("status", "reason", "error", "retried"),
    [
        (403, "forbidden", StorageCredentialsError, False),
        (401, "unauthorized", StorageCredentialsError, False),
        (429, "rateLimitExceeded", StorageUnavailableError, True),
        (503, "backendError", StorageUnavailableError, True),
    ],
)
def test_gcs_denials_and_throttling_become_typed_errors_after_bounded_retries(status, reason, error, retried):
    with FaultServer.gcs(status, reason) as server:
        storage = gcs_at(server.url, retries=1, retry_backoff=0.05, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(error, match=r"'data-bucket'") as raised:
            storage.exists("root/T.parquet")
    assert time.monotonic() - started < 10
    assert (server.count > 1) is retried
    assert "gs://data-bucket/root/T.parquet" in str(raised.value)


@pytest.mark.parametrize(
    "make", [pytest.param(s3_at, marks=pytest.mark.s3), pytest.param(gcs_at, marks=pytest.mark.gcs)]
)
def test_an_endpoint_that_does_not_answer_is_given_up_on_within_a_bounded_wait(make):
    storage = make(f"http://127.0.0.1:{free_port()}", retries=1, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match=r"'data-bucket'.*reachable") as raised:
        storage.exists("root/T.parquet")
    assert time.monotonic() - started < 15
    assert SECRET_KEY not in str(raised.value)


@pytest.mark.s3
def test_no_aws_credentials_anywhere_is_a_typed_error_saying_what_was_tried(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    with pytest.raises(StorageCredentialsError, match=r"No AWS credentials for S3 bucket 'data-bucket'.*AWS_PROFILE"):
        S3Storage("data-bucket", credentials=S3Credentials(environ={}))
    with pytest.raises(StorageCredentialsError, match="profile"):
        s3.init_storage("data-bucket", profile="nobody", environ={})
    local_dbutils = SimpleNamespace(lists_cloud_storage=False, fs=None)  # as the local runtime's: no bucket listing
    with pytest.raises(StorageCredentialsError, match="No AWS credentials for S3 bucket 'data-bucket'"):
        S3Storage("data-bucket", dbutils=local_dbutils, credentials=S3Credentials(environ={}))


@pytest.mark.s3
def test_credentials_come_from_a_profile_of_the_shared_files(tmp_path, monkeypatch, moto_s3):
    (tmp_path / "credentials").write_text(
        f"[team]\naws_access_key_id = testing\naws_secret_access_key = {SECRET_KEY}\n", encoding="utf-8"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    bucket = moto_s3.create_bucket()
    environ = {"AWS_PROFILE": "team", "AWS_ENDPOINT_URL": moto_s3.endpoint, "AWS_REGION": "eu-west-1"}
    storage = S3Storage(bucket, "root", credentials=S3Credentials(environ=environ))
    storage.write_text("root/x.txt", "hi")
    assert storage.read_text("root/x.txt") == "hi"
    assert storage.auth_mechanism == "shared-credentials-file"
    engine_env = storage.engine_environment()  # Sail reads no profiles: it gets the keys the profile holds
    assert engine_env["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY and engine_env["AWS_REGION"] == "eu-west-1"
    assert SECRET_KEY not in repr(engine_env) + repr(storage)


@pytest.mark.gcs
def test_no_google_credentials_is_a_typed_error_saying_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud application default credentials
    with pytest.raises(StorageCredentialsError, match=r"No Google Cloud credentials for GCS bucket 'data-bucket'"):
        GcsStorage("data-bucket", credentials=GcsCredentials(environ={}))
    local_dbutils = SimpleNamespace(lists_cloud_storage=False, fs=None)  # as the local runtime's: no bucket listing
    with pytest.raises(StorageCredentialsError, match="No Google Cloud credentials"):
        GcsStorage("data-bucket", dbutils=local_dbutils, credentials=GcsCredentials(environ={}))
    (tmp_path / "key.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(StorageCredentialsError, match="credentials_file"):
        gcs.init_storage("data-bucket", credentials_file=str(tmp_path / "key.json"), environ={})
    (tmp_path / "key.json").write_text('{"type": "external_account"}', encoding="utf-8")
    with pytest.raises(StorageCredentialsError, match="external_account"):
        GcsStorage("data-bucket", credentials=GcsCredentials(credentials_file=str(tmp_path / "key.json"), environ={}))


@pytest.mark.gcs
def test_a_gcloud_credentials_file_is_used_and_handed_to_the_engine_by_path(tmp_path):
    secret = "refresh-token-not-to-show"
    user = {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": secret}
    (tmp_path / "adc.json").write_text(json.dumps(user), encoding="utf-8")
    environ = {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "adc.json")}
    storage = GcsStorage("data-bucket", credentials=GcsCredentials(environ=environ))
    assert storage.auth_mechanism == "credentials file"
    assert dict(storage.engine_environment()) == {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "adc.json")}
    assert secret not in repr(storage) + repr(storage.fs)


@pytest.mark.parametrize(
    ("module", "url", "extra"), [("boto3", "s3://b-1/r", "aws"), ("google.cloud.storage", "gs://b-1/r", "gcp")]
)
def test_a_missing_extra_is_a_typed_error_naming_it(monkeypatch, module, url, extra):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(MissingExtraError, match=rf"pip install 'dtflw\[{extra}\]'"):
        from_url(url)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("s3://Bad_Bucket/r", InvalidStorageNameError),
        ("s3://ab/r", InvalidStorageNameError),
        ("gs://-bad-/r", InvalidStorageNameError),
        ("s3:///root", StorageError),
        ("s3://data-bucket/r?retry_backoff=1", StorageError),
        ("gs://data-bucket/r?timeout=0", StorageError),
    ],
)
def test_malformed_urls_are_refused_before_any_request(url, error):
    with pytest.raises(error):
        from_url(url)


@pytest.mark.s3
def test_the_jvm_engine_refuses_s3_and_gcs_with_the_jars_it_lacks(moto_s3, fake_gcs, monkeypatch):
    env = StorageEnvironment(is_local=True, grant_engine_credentials=JvmEngine().add_credentials)
    for key, value in {**moto_s3.environ, **fake_gcs.environ}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(EngineUnavailableError, match="hadoop-aws.*--engine sail"):
        from_url(f"s3://{moto_s3.create_bucket()}/r", env)
    with pytest.raises(EngineUnavailableError, match="GCS connector"):
        from_url(f"gs://{fake_gcs.create_bucket()}/r", env)
    JvmEngine().add_credentials({"AZURE_STORAGE_ACCOUNT_NAME": "a"})  # Azure's settings are ignored, as before


@pytest.mark.s3
def test_a_moto_server_that_stopped_is_unavailable(tmp_path):
    server = MotoS3().start()
    server.client().create_bucket(Bucket="gone-bucket")
    storage = s3_at(server.endpoint, bucket="gone-bucket", retries=0, timeout=1.0)
    assert not storage.exists("root/T.parquet")
    server.stop()
    with pytest.raises(StorageUnavailableError, match="gone-bucket"):
        storage.exists("root/T.parquet")


@pytest.mark.s3
def test_a_notebook_whose_engine_cannot_reach_s3_fails_with_an_error_naming_bucket_and_path(engine, workspace):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    engine.add_credentials(s3_at(endpoint).engine_environment())
    workspace.write("p/read.py", 'spark.read.parquet(dbutils.widgets.get("T_in")).count()')
    with pytest.raises(StorageUnavailableError) as caught:
        workspace.run("p/read.py", {"T_in": "s3://data-bucket/analysis/T.parquet"})
    message = str(caught.value)
    assert "Bucket(s) 'data-bucket'" in message and "s3://data-bucket/analysis/T.parquet" in message
    assert SECRET_KEY not in message


def test_the_cloud_sdks_are_imported_only_when_a_bucket_is_reached():
    import subprocess

    code = (
        "import sys, dtflw, dtflw.storage.s3, dtflw.storage.gcs; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'google'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class ClusterFs:
    """`dbutils.fs.ls` of a Databricks cluster whose Spark reaches the bucket (here: moto, listed with boto3)."""

    def __init__(self, server, bucket: str):
        self._client, self._bucket = server.client(), bucket

    def ls(self, path: str):
        from types import SimpleNamespace

        base = f"s3://{self._bucket}/"
        prefix = path.removeprefix(base).rstrip("/")
        page = self._client.list_objects_v2(Bucket=self._bucket, Prefix=prefix + "/", Delimiter="/")
        if page.get("KeyCount", 0) == 0:
            raise RuntimeError(f"java.io.FileNotFoundException: File {path} does not exist.")
        folders = [
            SimpleNamespace(path=base + p["Prefix"], name=p["Prefix"].rstrip("/").rsplit("/")[-1] + "/", size=0)
            for p in page.get("CommonPrefixes", [])
        ]
        files = [
            SimpleNamespace(path=base + o["Key"], name=o["Key"].rsplit("/")[-1], size=o["Size"])
            for o in page.get("Contents", [])
        ]
        return folders + files


@pytest.mark.s3
def test_on_a_cluster_without_boto3_or_credentials_dbutils_fs_lists_the_bucket(moto_s3, monkeypatch):
    bucket = moto_s3.create_bucket()
    moto_s3.client().put_object(Bucket=bucket, Key="analysis/p/T.parquet/part-0.parquet", Body=b"PAR1")
    dbutils = SimpleNamespace(fs=ClusterFs(moto_s3, bucket))
    monkeypatch.setitem(sys.modules, "boto3", None)  # the cluster has no dtflw[aws]
    env = StorageEnvironment(user="u", dbutils=dbutils)
    storage = from_url(f"s3://{bucket}/analysis", env)
    assert storage.auth_mechanism == "dbutils"
    assert storage.exists("analysis/p/T.parquet") and not storage.exists("analysis/p/Missing.parquet")
    assert storage.list("analysis/p/T.parquet") == [f"s3://{bucket}/analysis/p/T.parquet"]
    with pytest.raises(StorageError, match="through dbutils"):
        storage.engine_environment()
