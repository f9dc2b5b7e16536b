"""Azure storage: tables in a container of a storage account, as `wasbs://` (dtflw 0.6) or `abfss://` paths.

Both URL styles (and `wasb://`, `abfs://`, `az://container/…`) name the same blobs, so any of them
is accepted as an absolute path and normalised to the storage's own style. Files are listed and
read through `azure-storage-blob` (see `dtflw.storage.blob`); on a Databricks cluster without
explicit credentials, through `dbutils.fs` with whatever Spark is configured with.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from dtflw.errors import InvalidStorageNameError, PathOutsideStorageError, StorageError
from dtflw.storage import environment
from dtflw.storage.blob import (
    DEFAULT_DNS_SUFFIX,
    TRIED_EXPLICIT,
    AzureCredentials,
    BlobFileSystem,
    SecretEnvironment,
    default_auth,
    find_auth,
)
from dtflw.storage.cloud import LookupsInOneListing, RequestPolicy
from dtflw.storage.environment import StorageEnvironment
from dtflw.storage.filesystems import DbutilsFileSystem, FileSystem, lists_cloud_storage
from dtflw.storage.fs import FileStorageBase
from dtflw.storage.tables import FileInfo

URL_STYLES = ("wasbs", "abfss")
_HOST_KIND = {"wasbs": "blob", "abfss": "dfs"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}\Z")
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")
_AZURE_URL = re.compile(
    r"^(?P<scheme>wasbs?|abfss?)://(?P<container>[^@/]+)@(?P<account>[^./]+)\.(?:blob|dfs)\.(?P<suffix>[^/]+)"
    r"(?:/(?P<path>.*))?\Z"
    r"|^az://(?P<az_container>[^/]+)(?:/(?P<az_path>.*))?\Z",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AzureLocation:
    """A blob path parsed from any Azure URL style; `account` is None for `az://` (account implied)."""

    container: str
    account: str | None
    path: str
    dns_suffix: str = DEFAULT_DNS_SUFFIX

    def url(self, style: str, account: str | None = None) -> str:
        account = self.account or account
        return f"{style}://{self.container}@{account}.{_HOST_KIND[style]}.{self.dns_suffix}/{self.path}"


def parse_azure_url(path: str) -> AzureLocation | None:
    """The location an Azure URL names (`wasb[s]://`, `abfs[s]://`, `az://`), or None for other paths."""
    match = _AZURE_URL.match(path or "")
    if match is None:
        return None
    if match["az_container"]:
        return AzureLocation(match["az_container"], None, match["az_path"] or "")
    return AzureLocation(match["container"], match["account"].lower(), match["path"] or "", match["suffix"].lower())


def validate_account_name(name: str) -> str:
    if not isinstance(name, str) or not _ACCOUNT.match(name):
        raise InvalidStorageNameError(
            f"Azure storage account name {name!r} is invalid: "
            "use 3-24 lowercase letters and digits (e.g. 'mydatalake')."
        )
    return name


def validate_container_name(name: str) -> str:
    if not isinstance(name, str) or not _CONTAINER.match(name):
        raise InvalidStorageNameError(
            f"Azure container name {name!r} is invalid: use 3-63 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit (e.g. 'raw-data')."
        )
    return name


class AzureStorage(LookupsInOneListing, FileStorageBase):
    """Tables under `<style>://<container>@<account>.<blob|dfs>.core.windows.net/`.

    `credentials` (an `AzureCredentials`) are tried first; then a cluster's `dbutils.fs`; then
    azure-identity's DefaultAzureCredential. `endpoint` sets the blob service URL (Azurite, sovereign
    clouds). `engine_url_style="abfss"` hands Spark `abfss://` paths whatever the style (Sail reads
    `abfss://` but not `wasbs://`). `requests` (a `RequestPolicy`) bounds how long an unreachable service
    is retried. `init_storage` takes the fields of both as keywords.
    """

    def __init__(
        self,
        account_name: str,
        container_name: str,
        root_dir: str = "",
        spark: Any = None,
        dbutils: Any = None,
        *,
        credentials: AzureCredentials | None = None,
        requests: RequestPolicy | None = None,
        url_style: str = "wasbs",
        engine_url_style: str | None = None,
        endpoint: str | None = None,
        dns_suffix: str = DEFAULT_DNS_SUFFIX,
        table_format: str = "parquet",
    ):
        super().__init__(spark, dbutils, root_dir, table_format)
        self._account = validate_account_name(account_name)
        self._container = validate_container_name(container_name)
        for name, style in (("url_style", url_style), ("engine_url_style", engine_url_style or url_style)):
            if style not in URL_STYLES:
                raise StorageError(f"Unknown Azure {name} {style!r}; use one of {', '.join(URL_STYLES)}.")
        self._style = url_style
        self._engine_style = engine_url_style
        self._dns_suffix = dns_suffix.lower()
        self._requests = requests or RequestPolicy()
        self._auth = find_auth(
            account_name, credentials or AzureCredentials(), endpoint=endpoint, dns_suffix=self._dns_suffix
        )
        if self._auth is None and lists_cloud_storage(dbutils):
            self._fs: FileSystem = DbutilsFileSystem(dbutils)
            return
        if self._auth is None:
            self._auth = default_auth(account_name, endpoint, self._dns_suffix, (*TRIED_EXPLICIT, "dbutils (none)"))
        self._fs = BlobFileSystem(self._auth, container_name, self.base_path, self._requests)

    # -- identity ---------------------------------------------------------------------------
    @property
    def account_name(self) -> str:
        return self._account

    @property
    def container_name(self) -> str:
        return self._container

    @property
    def url_style(self) -> str:
        return self._style

    @property
    def auth_mechanism(self) -> str:
        """How this storage authenticates ("account key", "SAS token", …, or "dbutils"); never the secret."""
        return self._auth.mechanism if self._auth else "dbutils"

    @property
    def base_path(self) -> str:
        return self._location("").url(self._style)

    @property
    def url(self) -> str:
        return self.base_path + self.root_dir

    @property
    def fs(self) -> FileSystem:
        return self._fs

    # -- paths ------------------------------------------------------------------------------
    def logical_path(self, path: str) -> str:
        """Any URL style of a path on this container, in the storage's style; other paths unchanged."""
        location = parse_azure_url(path)
        return location.url(self._style, self._account) if self._owns(location) else path

    def engine_path(self, path: str) -> str:
        """The path Spark reads: in `engine_url_style` if set (also for other containers), else as is."""
        location = parse_azure_url(path)
        if location is None or self._engine_style is None or (location.account is None and not self._owns(location)):
            return path
        return location.url(self._engine_style, self._account)

    def get_abs_path(self, rel_path: str) -> str:
        location = parse_azure_url(rel_path)
        if location is not None and not self._owns(location):
            account = f" of account {location.account!r}" if location.account else ""
            where = f"container {location.container!r}{account}"
            raise PathOutsideStorageError(
                f"Path {rel_path!r} is in {where}, outside storage {self.base_path!r} (container "
                f"{self._container!r} of account {self._account!r}); give a path in this storage, "
                "or declare it as a foreign input (it must be readable)."
            )
        return super().get_abs_path(rel_path)

    def resolve_foreign_input(self, path: str) -> str:
        """`path` itself if it lies outside this storage but can be read with its credentials (another
        container or account; on a cluster, any path `dbutils.fs` lists), else PathOutsideStorageError
        naming both locations and why. A relative path is this storage's."""
        if self.is_abs_path(path) or not _SCHEME.match(path or ""):
            return self.get_abs_path(path)
        location = parse_azure_url(path)
        found: list[str] | list[FileInfo]
        try:
            if location is not None and self._auth is not None:
                found = self._sibling(location).list(path)
            elif isinstance(self._fs, DbutilsFileSystem):
                found = self._fs.list_dir(path)
            else:
                raise StorageError("it is not an Azure path (wasbs://, abfss://)")
        except StorageError as e:
            raise PathOutsideStorageError(
                f"Input {path!r} lies outside storage {self.base_path!r} and cannot be read with its "
                f"{self.auth_mechanism}: {e}; copy it into the storage or fix the path."
            ) from None
        if not found:
            raise PathOutsideStorageError(
                f"Input {path!r} lies outside storage {self.base_path!r} and has no files; fix the path."
            )
        return path

    # -- Sail -------------------------------------------------------------------------------
    def sail_environment(self) -> SecretEnvironment:
        """Environment variables that let Sail read and write this storage's `abfss://` paths.

        The local runtime hands them to the Sail server's own environment (never this process's). For Azurite they are AZURE_STORAGE_USE_EMULATOR,
        AZURITE_BLOB_STORAGE_URL, AZURE_STORAGE_ACCOUNT_NAME/KEY and AZURE_ALLOW_HTTP. The mapping's
        `repr` masks the key and SAS token.
        """
        if self._auth is None:
            raise StorageError(f"{self!r} reaches Azure through dbutils; there are no credentials to hand to Sail.")
        return self._auth.sail_environment()

    # -- helpers ----------------------------------------------------------------------------
    def _location(self, path: str) -> AzureLocation:
        return AzureLocation(self._container, self._account, path, self._dns_suffix)

    def _sibling(self, location: AzureLocation) -> AzureStorage:
        """A storage on another container or account, with this storage's credential."""
        account = location.account or self._account
        assert self._auth is not None  # only a storage with credentials has siblings
        return AzureStorage(
            account,
            location.container,
            credentials=AzureCredentials(credential=self._auth.credential),
            requests=self._requests,
            endpoint=self._auth.for_account(account, location.dns_suffix).endpoint,
            dns_suffix=location.dns_suffix,
        )

    def _owns(self, location: AzureLocation | None) -> TypeGuard[AzureLocation]:
        if location is None or location.container != self._container:
            return False
        return location.account is None or (location.account, location.dns_suffix) == (self._account, self._dns_suffix)


def init_storage(
    account_name: str,
    container_name: str,
    root_dir: str | None = None,
    spark: Any = None,
    dbutils: Any = None,
    *,
    user: str | None = None,
    **options: Any,
) -> AzureStorage:
    """An Azure storage (dtflw 0.6 order); `root_dir` None → the workspace user's name (as 0.6), else the OS
    user's. `options`: `AzureStorage`'s keywords, and the fields of `AzureCredentials` (`connection_string=`,
    `credential=`, `account_key=`, `sas_token=`, `environ=`: default the process environment) and of
    `RequestPolicy` (`retries=`, `retry_backoff=`, `timeout=`, `page_size=`) as keywords of their own."""
    if root_dir is None:
        root_dir = user or environment.current().user or getpass.getuser()
    credentials = {name: options.pop(name) for name in _fields(AzureCredentials) if name in options}
    credentials.setdefault("environ", os.environ)
    requests = {name: options.pop(name) for name in _fields(RequestPolicy) if name in options}
    options.setdefault("credentials", AzureCredentials(**credentials))
    options.setdefault("requests", RequestPolicy(**requests))
    return AzureStorage(account_name, container_name, root_dir, spark, dbutils, **options)


def _fields(options_class: type[AzureCredentials | RequestPolicy]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(options_class))


def from_url(url: str, spark: Any = None, table_format: str = "parquet", **kwargs: Any) -> AzureStorage:
    """The storage of `wasbs://c@a.blob.core.windows.net/<root_dir>` or `abfss://c@a.dfs.core.windows.net/<root_dir>`."""
    location = parse_azure_url(url)
    if location is None or location.account is None:
        raise StorageError(
            f"Azure storage URL {url!r} is malformed; use wasbs://<container>@<account>.blob.core.windows.net/<root> "
            "or abfss://<container>@<account>.dfs.core.windows.net/<root>."
        )
    style = "abfss" if url.lower().startswith("abfs") else "wasbs"
    kwargs.setdefault("url_style", style)
    kwargs.setdefault("dns_suffix", location.dns_suffix)
    return init_storage(
        location.account, location.container, location.path.strip("/"), spark, table_format=table_format, **kwargs
    )


def from_storage_url(
    url: str, env: StorageEnvironment, table_format: str = "parquet", query: Mapping[str, list[str]] | None = None
) -> AzureStorage:
    """The storage of a `wasbs://` or `abfss://` URL in `env` (`?timeout=&retries=&retry_backoff=`: how long
    to wait for a service that stops answering). Locally the engine gets `abfss://` paths (Sail does not
    read `wasbs://`) and the storage's credentials through `env`."""
    from dtflw.storage.unavailable import deadline_options

    options = {"spark": env.spark, "table_format": table_format, "user": env.user, **deadline_options(query or {}, url)}
    if not env.is_local:
        return from_url(url, dbutils=env.dbutils, **options)
    storage = from_url(url, engine_url_style="abfss", **options)
    if env.grant_engine_credentials is not None:
        env.grant_engine_credentials(storage.sail_environment())
    return storage
