"""Google Cloud Storage as a dtflw storage: `gs://<bucket>/<root_dir>`.

Files are listed, read and written with google-cloud-storage (`pip install 'dtflw[gcp]'`). Credentials
come from Google's Application Default Credentials, as google-auth resolves them: a `credentials_file`
(service account or `gcloud auth application-default login`), GOOGLE_APPLICATION_CREDENTIALS, gcloud's
default file, the metadata server of GCE/GKE/Cloud Run. STORAGE_EMULATOR_HOST points at an emulator
(fake-gcs-server), without credentials. Every GCS failure becomes a dtflw error naming bucket and path.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dtflw.errors import StorageCredentialsError, StorageError, StorageUnavailableError
from dtflw.storage.cloud import (
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

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

SCOPES = ("https://www.googleapis.com/auth/devstorage.read_write",)
EMULATOR = "emulator"
DEFAULT_BACKOFF = 1.0  # seconds before the first retry; doubled up to 8 times that
SECRET_VARIABLES = ("GOOGLE_SERVICE_ACCOUNT_KEY",)
TRIED = (
    "argument credentials_file=",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "gcloud's application default credentials",
    "the GCE metadata server",
)


@dataclass(frozen=True)
class GcsAuth:
    """Where and how to reach GCS. Its `repr` names the mechanism, never a key."""

    project: str | None
    endpoint: str | None  # an emulator's URL, or None for Google's service
    mechanism: str  # EMULATOR, "credentials file", "credentials object", or google-auth's credential class
    credentials: Credentials | None = field(default=None, repr=False)
    credentials_file: str | None = None

    def engine_environment(self) -> CloudEnvironment:
        """The variables with which Sail (object_store) reaches GCS as google-auth does."""
        values: dict[str, str] = {}
        if self.mechanism == EMULATOR:  # object_store ignores STORAGE_EMULATOR_HOST; a key file may name a URL
            key = {"gcs_base_url": self.endpoint, "disable_oauth": True}
            values["GOOGLE_SERVICE_ACCOUNT_KEY"] = json.dumps({**key, **dict.fromkeys(_EMPTY_KEY_FIELDS, "")})
        elif self.credentials_file:
            values["GOOGLE_APPLICATION_CREDENTIALS"] = self.credentials_file
        elif self.mechanism == "credentials object":
            raise StorageError(
                "A google-auth credentials object cannot be handed to the Sail engine; give credentials_file= "
                "(or GOOGLE_APPLICATION_CREDENTIALS) instead."
            )
        # else: Application Default Credentials, which object_store finds by the same chain
        return CloudEnvironment(values, SECRET_VARIABLES, "the GCS connector (gcs-connector-hadoop3)")


_EMPTY_KEY_FIELDS = ("client_email", "private_key", "private_key_id")


@dataclass(frozen=True)
class GcsCredentials:
    """Where a GCS storage's credentials come from, tried in this order: `credentials` (a google-auth
    credentials object), `credentials_file` (a service-account key or `gcloud auth application-default login`
    file), then Application Default Credentials over `environ` (default the process environment:
    GOOGLE_APPLICATION_CREDENTIALS, STORAGE_EMULATOR_HOST, …). Its `repr()` shows the file's path only,
    never the credentials object or the environment."""

    credentials: Credentials | None = field(default=None, repr=False)
    credentials_file: str | None = None
    environ: Mapping[str, str] | None = field(default=None, repr=False)


def find_auth(
    bucket: str,
    given: GcsCredentials,
    *,
    project: str | None = None,
    endpoint: str | None = None,
) -> GcsAuth:
    """Credentials for `bucket` as `given` says, else Application Default Credentials over its `environ`."""
    require("google.cloud.storage", "gcp", "gs")
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    credentials, credentials_file = given.credentials, given.credentials_file
    env = os.environ if given.environ is None else given.environ
    endpoint = endpoint or env.get("STORAGE_EMULATOR_HOST")
    project = project or env.get("GOOGLE_CLOUD_PROJECT")
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        endpoint = endpoint if "://" in endpoint else f"http://{endpoint}"
        anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]  # google-auth leaves its __init__ unannotated
        return GcsAuth(project or "emulator", endpoint.rstrip("/"), EMULATOR, anonymous)
    if credentials is not None:
        return GcsAuth(project, None, "credentials object", credentials)
    credentials_file = credentials_file or env.get("GOOGLE_APPLICATION_CREDENTIALS")
    try:
        if credentials_file:
            found, found_project = _from_file(credentials_file)
            return GcsAuth(project or found_project, None, "credentials file", found, credentials_file)
        found, found_project = google.auth.default(scopes=SCOPES)
    except (DefaultCredentialsError, OSError, ValueError) as e:
        detail = f" ({type(e).__name__}: {str(e).splitlines()[0][:200]})" if credentials_file else ""
        raise StorageCredentialsError(
            f"No Google Cloud credentials for GCS bucket {bucket!r}: tried {'; '.join(TRIED)}{detail}. "
            "Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS to a key file."
        ) from None
    return GcsAuth(project or found_project, None, type(found).__name__, found)


def _from_file(path: str) -> tuple[Credentials, str | None]:
    """The credentials of a service-account key or `gcloud auth application-default login` file, and its project;
    any other kind of file is refused (a credentials file is input from outside)."""
    from google.oauth2 import credentials, service_account

    with open(path, encoding="utf-8") as f:
        info = json.load(f)
    kind = info.get("type") if isinstance(info, dict) else None
    # google-auth leaves these two factories unannotated
    if kind == "service_account":
        found = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)  # type: ignore[no-untyped-call]
        return found, info.get("project_id")
    if kind == "authorized_user":
        found = credentials.Credentials.from_authorized_user_info(info, scopes=SCOPES)  # type: ignore[no-untyped-call]
        return found, info.get("quota_project_id")
    raise ValueError(f"credentials_file {path!r} is of type {kind!r}; give a service_account or authorized_user file")


class GcsFileSystem(ObjectFileSystem):
    """One bucket, reached with google-cloud-storage; paths are `gs://<bucket>/<name>`."""

    scheme = "gs"
    cloud = "GCS"

    def __init__(self, auth: GcsAuth, bucket: str, requests: RequestPolicy = RequestPolicy()):  # noqa: B008 - frozen
        from google.api_core.client_options import ClientOptions
        from google.cloud import storage
        from google.cloud.storage.retry import DEFAULT_RETRY

        super().__init__(bucket, requests)
        self.auth = auth
        options = ClientOptions(api_endpoint=auth.endpoint) if auth.endpoint else None
        self._client = storage.Client(project=auth.project, credentials=auth.credentials, client_options=options)
        if getattr(self._client, "_bucket_metadata_cache", None) is not None:  # 3.x: a background bucket GET,
            self._client._bucket_metadata_cache = None  # only to label trace spans; not a request per check
        self._bucket = self._client.bucket(bucket)
        # retries of 429/5xx and dropped connections, within a bounded wait
        backoff = max(requests.backoff_or(DEFAULT_BACKOFF), 0.01)
        timeout = requests.timeout
        self._call = {
            "retry": DEFAULT_RETRY.with_delay(initial=backoff, maximum=backoff * 8).with_timeout(
                timeout * (requests.retries + 1)
            ),
            "timeout": (min(timeout, 10.0), timeout),
        }

    # -- primitives -------------------------------------------------------------------------
    def _list_page(self, prefix: str, delimiter: str | None, token: str | None) -> ObjectPage:
        iterator = self._client.list_blobs(
            self._bucket, prefix=prefix, delimiter=delimiter, page_size=self._page_size, page_token=token, **self._call
        )
        page = next(iterator.pages, None)
        if page is None:
            return [], [], None
        objects = [
            ObjectEntry(b.name, b.size or 0, int(b.updated.timestamp() * 1000) if b.updated else 0) for b in page
        ]
        return objects, sorted(page.prefixes), iterator.next_page_token

    def _read(self, name: str) -> bytes | None:
        found = self._get(name)
        return None if found is None else found[0]

    def _write(self, name: str, data: bytes) -> None:
        self._bucket.blob(name).upload_from_string(data, **self._call)

    def _remove(self, names: list[str]) -> None:
        from google.api_core.exceptions import NotFound

        for name in names:
            with contextlib.suppress(NotFound):
                self._bucket.blob(name).delete(**self._call)

    # -- conditional writes (generation preconditions) ----------------------------------------
    def create_if_absent(self, path: str, text: str) -> str | None:
        return self._put_if(path, text, 0)

    def replace_if(self, path: str, text: str, token: str) -> str | None:
        return self._put_if(path, text, int(token))

    def read_versioned(self, path: str) -> tuple[str, str] | None:
        with self._errors(path, "read"):
            found = self._get(self.name(path))
        return None if found is None else (found[0].decode("utf-8", "replace"), found[1])

    def delete_if(self, path: str, token: str) -> None:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        with self._errors(path, "delete"), contextlib.suppress(PreconditionFailed, NotFound):
            self._bucket.blob(self.name(path)).delete(if_generation_match=int(token), **self._call)

    def _put_if(self, path: str, text: str, generation: int) -> str | None:
        from google.api_core.exceptions import PreconditionFailed

        blob = self._bucket.blob(self.name(path))
        with self._errors(path, "write"), contextlib.suppress(PreconditionFailed):
            blob.upload_from_string(text.encode(), if_generation_match=generation, **self._call)
            return str(blob.generation)
        return None

    def _get(self, name: str) -> tuple[bytes, str] | None:
        from google.api_core.exceptions import NotFound

        blob = self._bucket.blob(name)
        try:
            data = blob.download_as_bytes(**self._call)
        except NotFound:
            if not self._bucket.exists(**self._call):  # a missing bucket answers 404 too
                raise
            return None
        return data, str(blob.generation)

    # -- errors -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, path: str, action: str) -> Iterator[None]:
        """Turn google-cloud-storage errors into dtflw errors naming bucket and path; never a key."""
        import requests
        from google.api_core import exceptions as api
        from google.auth import exceptions as auth

        where = f"{path!r} (GCS bucket {self.bucket!r})"
        try:
            yield
        except api.NotFound:
            raise StorageUnavailableError(
                f"Cannot {action} {where}: bucket {self.bucket!r} does not exist at {self._service}; "
                "create it or fix the storage URL."
            ) from None
        except (api.Forbidden, api.Unauthorized, auth.RefreshError, auth.DefaultCredentialsError) as e:
            raise StorageCredentialsError(
                f"GCS denied the {self.auth.mechanism} credentials to {action} {where} ({self._reason(e)}); grant "
                "them roles/storage.objectAdmin on the bucket, or use others."
            ) from None
        except (api.TooManyRequests, api.ServerError, api.RetryError, auth.TransportError) as e:
            raise self._unavailable(action, where, e) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
            raise self._unavailable(action, where, e) from None
        except api.GoogleAPICallError as e:
            raise StorageError(f"Cannot {action} {where}: {self._reason(e)}.") from None

    @property
    def _service(self) -> str:
        return self.auth.endpoint or "Google Cloud Storage"

    def _unavailable(self, action: str, where: str, error: Exception) -> StorageUnavailableError:
        return StorageUnavailableError(
            f"GCS did not serve the request to {action} {where} after {self.retries} retries ({self._reason(error)}); "
            f"check that {self._service} is reachable (or wait out its rate limit), then rerun."
        )

    @staticmethod
    def _reason(error: Exception) -> str:
        code = getattr(error, "code", None)
        cause = getattr(error, "cause", None)  # a RetryError's last error
        return f"HTTP {code}" if code else type(cause or error).__name__


class GcsStorage(BucketStorage):
    """Tables under `gs://<bucket>/`.

    `credentials` (a `GcsCredentials`) are tried first, then Application Default Credentials (over their
    `environ`, default the process's); STORAGE_EMULATOR_HOST or `endpoint` for an emulator; on a Databricks
    cluster without any, its `dbutils.fs`. `requests` (a `RequestPolicy`; `retry_backoff` in seconds, 1 by
    default) bounds how long an unreachable or rate-limiting service is retried. `init_storage` takes the
    fields of both as keywords.
    """

    scheme = "gs"
    cloud = "GCS"

    def __init__(
        self,
        bucket: str,
        root_dir: str = "",
        spark: Any = None,
        dbutils: Any = None,
        *,
        credentials: GcsCredentials | None = None,
        requests: RequestPolicy | None = None,
        project: str | None = None,
        endpoint: str | None = None,
        table_format: str = "parquet",
    ):
        validate_bucket(bucket, self.cloud, underscores=True)
        auth = auth_or_dbutils(
            lambda: find_auth(bucket, credentials or GcsCredentials(), project=project, endpoint=endpoint), dbutils
        )
        fs = None if auth is None else GcsFileSystem(auth, bucket, requests or RequestPolicy())
        super().__init__(auth, fs, bucket, root_dir, spark, dbutils, table_format)


def from_storage_url(
    url: str, env: StorageEnvironment, table_format: str = "parquet", query: Mapping[str, list[str]] | None = None
) -> GcsStorage:
    """The storage of a `gs://<bucket>/<root>` URL in `env` (`?timeout=&retries=&retry_backoff=`)."""
    return open_from_url(GcsStorage, url, env, table_format, query or {})


def init_storage(
    bucket: str,
    root_dir: str = "",
    spark: Any = None,
    dbutils: Any = None,
    *,
    credentials: Credentials | None = None,
    credentials_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    project: str | None = None,
    endpoint: str | None = None,
    retries: int = 3,
    retry_backoff: float | None = None,
    timeout: float = 30.0,
    page_size: int | None = None,
    table_format: str = "parquet",
) -> GcsStorage:
    """A GCS storage from keywords: the fields of `GcsCredentials` and of `RequestPolicy` as keywords of their
    own, as `GcsStorage` took them before it grouped them (`credentials`: a google-auth credentials object)."""
    given = GcsCredentials(credentials=credentials, credentials_file=credentials_file, environ=environ)
    requests = RequestPolicy(retries=retries, retry_backoff=retry_backoff, timeout=timeout, page_size=page_size)
    return GcsStorage(
        bucket,
        root_dir,
        spark,
        dbutils,
        credentials=given,
        requests=requests,
        project=project,
        endpoint=endpoint,
        table_format=table_format,
    )
