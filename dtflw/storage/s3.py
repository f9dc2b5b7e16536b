"""Amazon S3 (and S3-compatible services) as a dtflw storage: `s3://<bucket>/<root_dir>`.

Files are listed, read and written with boto3 (`pip install 'dtflw[aws]'`). Credentials come from
AWS's standard chain, as boto3 resolves it: arguments, the environment (AWS_ACCESS_KEY_ID, …),
AWS_PROFILE and the shared config/credentials files (SSO and assumed roles included), web identity,
container and instance metadata. `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`) points at another
service (MinIO, moto). Every S3 failure becomes a dtflw error naming bucket and path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dtflw.errors import StorageCredentialsError, StorageError, StorageUnavailableError
from dtflw.storage.cloud import (
    SELF_BACKOFF,
    BucketStorage,
    CloudEnvironment,
    ObjectEntry,
    ObjectFileSystem,
    ObjectPage,
    RequestPolicy,
    auth_or_dbutils,
    open_from_url,
    require,
    validate_bucket,
)
from dtflw.storage.environment import StorageEnvironment

DEFAULT_REGION = "us-east-1"
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# Credentials the engine fetches and refreshes itself (object_store follows the same chain): not handed over.
SELF_REFRESHING = ("iam-role", "container-role", "assume-role-with-web-identity")
TRIED = (
    "arguments access_key_id=/secret_access_key=",
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    "AWS_PROFILE and ~/.aws/config, ~/.aws/credentials",
    "web identity, container and instance metadata",
)
_DENIED = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken")
_PRECONDITION = ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409", "404")


@dataclass(frozen=True)
class S3Auth:
    """Where and how to reach S3. Its `repr` names the mechanism, never a key."""

    region: str
    endpoint: str | None
    mechanism: str  # botocore's name of where the credentials came from: "env", "shared-credentials-file", …
    session: Any = field(default=None, repr=False)

    def engine_environment(self) -> CloudEnvironment:
        """The variables with which Sail (object_store) reaches S3 as boto3 does."""
        values = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.mechanism not in SELF_REFRESHING:
            frozen = self.session.get_credentials().get_frozen_credentials()
            values.update(AWS_ACCESS_KEY_ID=frozen.access_key, AWS_SECRET_ACCESS_KEY=frozen.secret_key)
            if frozen.token:
                values["AWS_SESSION_TOKEN"] = frozen.token
        if self.endpoint:
            values["AWS_ENDPOINT_URL"] = self.endpoint
            if self.endpoint.startswith("http://"):
                values["AWS_ALLOW_HTTP"] = "true"
        return CloudEnvironment(values, SECRET_VARIABLES, "hadoop-aws and the AWS SDK")


@dataclass(frozen=True)
class S3Credentials:
    """Where an S3 storage's credentials come from, tried in this order: `access_key_id` and
    `secret_access_key` (with `session_token`), `profile`, then AWS's standard chain over `environ`
    (default the process environment: AWS_ACCESS_KEY_ID, AWS_PROFILE, the shared files, instance
    metadata, …). Its `repr()` shows the profile name only, never a key, a token or the environment."""

    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None
    environ: Mapping[str, str] | None = field(default=None, repr=False)


def refuse_retry_backoff(bucket: str, requests: RequestPolicy) -> None:
    """Refuse a `retry_backoff` for S3: botocore's standard retry mode backs off by itself."""
    if requests.retry_backoff is not None:
        raise StorageError(f"S3 bucket {bucket!r}: retry_backoff= is not supported for s3:// {SELF_BACKOFF}.")


def find_auth(
    bucket: str,
    given: S3Credentials,
    *,
    region: str | None = None,
    endpoint: str | None = None,
) -> S3Auth:
    """Credentials for `bucket` as `given` says, else AWS's standard chain over its `environ`."""
    boto3 = require("boto3", "aws", "s3")
    from botocore.exceptions import BotoCoreError

    access_key_id, secret_access_key = given.access_key_id, given.secret_access_key
    session_token, profile = given.session_token, given.profile
    env = os.environ if given.environ is None else given.environ
    mechanism = "arguments" if access_key_id else None
    if access_key_id is None and env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        mechanism = "env"
        access_key_id, secret_access_key = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        session_token = session_token or env.get("AWS_SESSION_TOKEN")
    profile = profile or (None if access_key_id else env.get("AWS_PROFILE"))
    region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    endpoint = endpoint or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    try:
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            profile_name=profile,
            region_name=region,
        )
        credentials = session.get_credentials()
    except BotoCoreError as e:  # a profile that is not there, a config file that does not parse, …
        raise StorageCredentialsError(
            f"No AWS credentials for S3 bucket {bucket!r}: {type(e).__name__} ({str(e)[:200]}); "
            "fix the profile or the AWS config files."
        ) from None
    if credentials is None:
        raise StorageCredentialsError(
            f"No AWS credentials for S3 bucket {bucket!r}: tried {'; '.join(TRIED)}. "
            "Export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, set AWS_PROFILE, or run `aws sso login`."
        )
    mechanism = mechanism or credentials.method
    return S3Auth(session.region_name or DEFAULT_REGION, endpoint, mechanism, session)


class S3FileSystem(ObjectFileSystem):
    """One bucket, reached with boto3; paths are `s3://<bucket>/<key>`."""

    scheme = "s3"
    cloud = "S3"

    def __init__(self, auth: S3Auth, bucket: str, requests: RequestPolicy = RequestPolicy()):  # noqa: B008 - frozen
        from botocore.config import Config

        super().__init__(bucket, requests)
        self.auth = auth
        config = Config(
            # throttling and 5xx, exponential backoff
            retries={"total_max_attempts": requests.retries + 1, "mode": "standard"},
            connect_timeout=min(requests.timeout, 10.0),
            read_timeout=requests.timeout,
        )
        self._client = auth.session.client("s3", endpoint_url=auth.endpoint, config=config)

    # -- primitives -------------------------------------------------------------------------
    def _list_page(self, prefix: str, delimiter: str | None, token: str | None) -> ObjectPage:
        options = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": self._page_size}
        if delimiter:
            options["Delimiter"] = delimiter
        if token:
            options["ContinuationToken"] = token
        page = self._client.list_objects_v2(**options)
        objects = [
            ObjectEntry(o["Key"], o.get("Size", 0), int(o["LastModified"].timestamp() * 1000))
            for o in page.get("Contents", [])
        ]
        folders = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return objects, folders, page.get("NextContinuationToken") if page.get("IsTruncated") else None

    def _read(self, name: str) -> bytes | None:
        found = self._get(name)
        return None if found is None else found[0]

    def _write(self, name: str, data: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=name, Body=data)

    def _remove(self, names: list[str]) -> None:
        objects = [{"Key": n} for n in names]
        self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})

    # -- conditional writes -----------------------------------------------------------------
    def create_if_absent(self, path: str, text: str) -> str | None:
        return self._put_if(path, text, IfNoneMatch="*")

    def replace_if(self, path: str, text: str, token: str) -> str | None:
        return self._put_if(path, text, IfMatch=token)

    def read_versioned(self, path: str) -> tuple[str, str] | None:
        with self._errors(path, "read"):
            found = self._get(self.name(path))
        return None if found is None else (found[0].decode("utf-8", "replace"), found[1])

    def delete_if(self, path: str, token: str) -> None:
        with self._errors(path, "delete"), self._unless_precondition():
            self._client.delete_object(Bucket=self.bucket, Key=self.name(path), IfMatch=token)

    def _put_if(self, path: str, text: str, **condition: str) -> str | None:
        with self._errors(path, "write"), self._unless_precondition():
            put = self._client.put_object(Bucket=self.bucket, Key=self.name(path), Body=text.encode(), **condition)
            etag: str = put["ETag"]
            return etag
        return None

    def _get(self, name: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        try:
            response = self._client.get_object(Bucket=self.bucket, Key=name)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "NoSuchKey":
                return None
            raise
        return response["Body"].read(), response["ETag"]

    @contextlib.contextmanager
    def _unless_precondition(self) -> Iterator[None]:
        """Swallow the answer of a condition that did not hold (412, 409, a key gone meanwhile)."""
        from botocore.exceptions import ClientError

        try:
            yield
        except ClientError as e:
            error = e.response.get("Error", {})
            status = str(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
            if error.get("Code") not in _PRECONDITION and status not in _PRECONDITION:
                raise

    # -- errors -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, path: str, action: str) -> Iterator[None]:
        """Turn boto3 errors into dtflw errors naming bucket and path; never a key."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        where = f"{path!r} (S3 bucket {self.bucket!r})"
        service = self.auth.endpoint or f"S3 in {self.auth.region}"
        try:
            yield
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code") or ""
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            reason = f"HTTP {status} {code}".strip()
            if code == "NoSuchBucket":
                raise StorageUnavailableError(
                    f"Cannot {action} {where}: bucket {self.bucket!r} does not exist at {service}; "
                    "create it or fix the storage URL."
                ) from None
            if code in _DENIED or status in (401, 403):
                raise StorageCredentialsError(
                    f"S3 denied the {self.auth.mechanism} credentials to {action} {where} ({reason}); grant them "
                    "s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the bucket, or use others."
                ) from None
            if status in (408, 429) or status >= 500 or code in ("SlowDown", "Throttling", "RequestTimeout"):
                raise self._unavailable(action, where, reason) from None
            raise StorageError(f"Cannot {action} {where}: {reason}.") from None
        except NoCredentialsError:
            raise StorageCredentialsError(
                f"No AWS credentials to {action} {where}; tried {'; '.join(TRIED)}."
            ) from None
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError) as e:
            raise self._unavailable(action, where, type(e).__name__) from None
        except BotoCoreError as e:
            raise StorageError(f"Cannot {action} {where}: {type(e).__name__}.") from None

    def _unavailable(self, action: str, where: str, reason: str) -> StorageUnavailableError:
        service = self.auth.endpoint or f"S3 in {self.auth.region}"
        return StorageUnavailableError(
            f"S3 did not serve the request to {action} {where} after {self.retries} retries ({reason}); "
            f"check that {service} is reachable (or wait out its throttling), then rerun."
        )


class S3Storage(BucketStorage):
    """Tables under `s3://<bucket>/`. `s3a://` paths of the bucket are accepted as the same.

    `credentials` (an `S3Credentials`) are tried first, then AWS's standard chain (over their `environ`, default
    the process's); on a Databricks cluster without any, its `dbutils.fs`. `region` and `endpoint` default to
    AWS_REGION/AWS_DEFAULT_REGION and AWS_ENDPOINT_URL. `requests` (a `RequestPolicy`, without `retry_backoff`:
    botocore backs off by itself) bounds how long an unreachable or throttling service is retried.
    `init_storage` takes the fields of both as keywords.
    """

    scheme = "s3"
    cloud = "S3"
    aliases = ("s3a", "s3n")
    takes_retry_backoff = False

    def __init__(
        self,
        bucket: str,
        root_dir: str = "",
        spark: Any = None,
        dbutils: Any = None,
        *,
        credentials: S3Credentials | None = None,
        requests: RequestPolicy | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        table_format: str = "parquet",
    ):
        validate_bucket(bucket, self.cloud, underscores=False)
        requests = requests or RequestPolicy()
        refuse_retry_backoff(bucket, requests)
        auth = auth_or_dbutils(
            lambda: find_auth(bucket, credentials or S3Credentials(), region=region, endpoint=endpoint), dbutils
        )
        fs = None if auth is None else S3FileSystem(auth, bucket, requests)
        super().__init__(auth, fs, bucket, root_dir, spark, dbutils, table_format)


def from_storage_url(
    url: str, env: StorageEnvironment, table_format: str = "parquet", query: Mapping[str, list[str]] | None = None
) -> S3Storage:
    """The storage of an `s3://<bucket>/<root>` URL in `env` (`?timeout=&retries=`)."""
    return open_from_url(S3Storage, url, env, table_format, query or {})


def init_storage(
    bucket: str,
    root_dir: str = "",
    spark: Any = None,
    dbutils: Any = None,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    region: str | None = None,
    endpoint: str | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    page_size: int | None = None,
    table_format: str = "parquet",
) -> S3Storage:
    """An S3 storage from keywords: the fields of `S3Credentials` and of `RequestPolicy` (but `retry_backoff`:
    botocore backs off by itself) as keywords of their own, as `S3Storage` took them before it grouped them."""
    credentials = S3Credentials(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        profile=profile,
        environ=environ,
    )
    requests = RequestPolicy(retries=retries, timeout=timeout, page_size=page_size)
    return S3Storage(
        bucket,
        root_dir,
        spark,
        dbutils,
        credentials=credentials,
        requests=requests,
        region=region,
        endpoint=endpoint,
        table_format=table_format,
    )
