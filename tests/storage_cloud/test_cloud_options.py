"""The options objects of the S3 and GCS storages: credentials whose `repr` shows no secret, the request
policy they share with Azure, `init_storage`'s keywords and a storage URL's query landing in them, and an S3
`retry_backoff` refused as before."""

from __future__ import annotations

import json

import pytest

from dtflw.errors import StorageError
from dtflw.storage import from_url, gcs, s3
from dtflw.storage.blob import RequestPolicy as BlobRequestPolicy
from dtflw.storage.cloud import PAGE_SIZE, RequestPolicy
from dtflw.storage.gcs import GcsCredentials, GcsStorage
from dtflw.storage.s3 import S3Credentials, S3Storage
from storage_cloud.servers import SECRET_KEY

KEY_ID = "AKIAKEYIDNOTTOSHOW"
TOKEN = "session-token-not-to-show"


class SecretObject:
    """A credentials object that would show its token if its repr were printed."""

    def __repr__(self) -> str:
        return f"SecretObject(token={TOKEN!r})"


def test_credentials_show_no_secret_in_their_repr():
    environ = {"AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_SESSION_TOKEN": TOKEN}
    aws = S3Credentials(
        access_key_id=KEY_ID, secret_access_key=SECRET_KEY, session_token=TOKEN, profile="team", environ=environ
    )
    google = GcsCredentials(credentials=SecretObject(), credentials_file="/keys/sa.json", environ=environ)
    for given in (aws, google):
        shown = repr(given) + str(given)
        assert SECRET_KEY not in shown and TOKEN not in shown and KEY_ID not in shown
    assert repr(aws) == "S3Credentials(profile='team')"
    assert repr(google) == "GcsCredentials(credentials_file='/keys/sa.json')"
    assert aws.secret_access_key == SECRET_KEY and google.environ == environ  # hidden, not dropped


def test_one_request_policy_for_azure_s3_and_gcs():
    assert BlobRequestPolicy is RequestPolicy  # Azure's old import path still works
    assert RequestPolicy() == RequestPolicy(retries=3, retry_backoff=None, timeout=30.0, page_size=None)
    assert (RequestPolicy().backoff_or(1.0), RequestPolicy(retry_backoff=0).backoff_or(1.0)) == (1.0, 0)
    assert (RequestPolicy().page_size_or(PAGE_SIZE), RequestPolicy(page_size=2).page_size_or(PAGE_SIZE)) == (1000, 2)


@pytest.mark.s3
def test_s3_init_storage_keywords_land_in_the_options():
    storage = s3.init_storage(
        "data-bucket",
        "root",
        access_key_id=KEY_ID,
        secret_access_key=SECRET_KEY,
        session_token=TOKEN,
        region="eu-west-1",
        endpoint="http://127.0.0.1:9",
        environ={},
        retries=1,
        timeout=5.0,
        page_size=2,
        table_format="delta",
    )
    assert (storage.auth_mechanism, storage.root_dir, storage.table_format) == ("arguments", "root", "delta")
    assert (storage.fs.auth.region, storage.fs.auth.endpoint) == ("eu-west-1", "http://127.0.0.1:9")
    assert storage.fs.requests == RequestPolicy(retries=1, timeout=5.0, page_size=2)
    config = storage.fs._client.meta.config
    assert (config.retries["total_max_attempts"], config.read_timeout, storage.fs._page_size) == (2, 5.0, 2)
    env = storage.engine_environment()
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]) == (
        KEY_ID,
        SECRET_KEY,
        TOKEN,
    )
    assert SECRET_KEY not in repr(storage) + repr(storage.fs) + repr(env)

    default = s3.init_storage("data-bucket", access_key_id=KEY_ID, secret_access_key=SECRET_KEY, environ={})
    assert default.fs.requests == RequestPolicy() and default.fs._page_size == PAGE_SIZE
    assert default.fs._client.meta.config.retries["total_max_attempts"] == 4


@pytest.mark.gcs
def test_gcs_init_storage_keywords_land_in_the_options(tmp_path):
    storage = gcs.init_storage(
        "data_bucket",
        "root",
        project="team-project",
        endpoint="http://127.0.0.1:9",
        environ={},
        retries=1,
        retry_backoff=0.05,
        timeout=2.0,
        page_size=3,
    )
    assert (storage.auth_mechanism, storage.fs.auth.project) == ("emulator", "team-project")
    assert storage.fs.requests == RequestPolicy(retries=1, retry_backoff=0.05, timeout=2.0, page_size=3)
    retry = storage.fs._call["retry"]
    assert (retry._initial, retry._timeout, storage.fs._call["timeout"]) == (0.05, 4.0, (2.0, 2.0))

    user = {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": TOKEN}
    (tmp_path / "adc.json").write_text(json.dumps(user), encoding="utf-8")
    from_file = gcs.init_storage("data-bucket", credentials_file=str(tmp_path / "adc.json"), environ={})
    assert from_file.auth_mechanism == "credentials file"
    assert dict(from_file.engine_environment()) == {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "adc.json")}
    from google.auth.credentials import AnonymousCredentials

    given = gcs.init_storage("data-bucket", credentials=AnonymousCredentials(), environ={})
    assert given.auth_mechanism == "credentials object"

    default = GcsStorage("data-bucket", credentials=GcsCredentials(environ={"STORAGE_EMULATOR_HOST": "127.0.0.1:9"}))
    assert default.fs.requests == RequestPolicy() and default.fs._page_size == PAGE_SIZE
    assert (default.fs._call["retry"]._initial, default.fs._call["retry"]._timeout) == (1.0, 120.0)  # GCS's own


def test_a_retry_backoff_for_s3_is_refused_as_before():
    with pytest.raises(StorageError) as caught:
        from_url("s3://data-bucket/r?timeout=5&retry_backoff=1")
    assert str(caught.value) == (
        "Storage URL 's3://data-bucket/r': retry_backoff= is not supported for s3:// "
        "(its client backs off exponentially by itself); use timeout= and retries=."
    )
    with pytest.raises(TypeError, match="retry_backoff"):  # as S3Storage(retry_backoff=) did
        s3.init_storage("data-bucket", retry_backoff=1.0)
    with pytest.raises(StorageError, match=r"S3 bucket 'data-bucket': retry_backoff= is not supported for s3://"):
        S3Storage("data-bucket", requests=RequestPolicy(retry_backoff=1.0))


def test_a_storage_urls_query_lands_in_the_request_policy(cloud, monkeypatch):
    for key, value in cloud.server.environ.items():
        monkeypatch.setenv(key, value)
    backoff = None if cloud.scheme == "s3" else 0.25
    query = "" if backoff is None else f"&retry_backoff={backoff}"
    storage = from_url(f"{cloud.url}?timeout=5&retries=0{query}")
    assert storage.fs.requests == RequestPolicy(retries=0, retry_backoff=backoff, timeout=5.0)
    assert not storage.exists("analysis/T.parquet")
