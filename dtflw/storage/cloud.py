"""What the cloud storages share: one request policy (Azure, S3, GCS); for S3 and GCS, a bucket as a dtflw
file system and a storage over one bucket.

An object store has no folders and no renames, but every PUT is atomic and ordered listings by prefix
are cheap: `ObjectFileSystem` builds the `FileSystem` protocol on four primitives a backend gives
(list one page, read, write, remove) plus conditional writes for the lease. Paths are the storage's
URLs (`s3://bucket/key`, `gs://bucket/key`). `BucketStorage` answers existence from one listing.
"""

from __future__ import annotations

import contextlib
import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, TypeVar, runtime_checkable

from dtflw.errors import InvalidStorageNameError, MissingExtraError, StorageCredentialsError, StorageError
from dtflw.extras import extra
from dtflw.storage.base import Lister, Storage
from dtflw.storage.environment import StorageEnvironment
from dtflw.storage.filesystems import DbutilsFileSystem, FileSystem, lists_cloud_storage
from dtflw.storage.glob import has_glob
from dtflw.storage.tables import FileInfo, state_from_listing

PAGE_SIZE = 1000  # the largest page of an S3 or GCS listing
_BUCKET = re.compile(r"^(?=.{3,63}\Z)[a-z0-9][a-z0-9._-]*[a-z0-9]\Z")
SELF_BACKOFF = "(its client backs off exponentially by itself); use timeout= and retries="


@dataclass(frozen=True)
class RequestPolicy:
    """How long a cloud storage service that does not answer is retried, and how many files one list request
    asks for; the same for Azure, S3 and GCS. `timeout`: seconds per attempt; `retry_backoff`: seconds between
    attempts, None for the backend's default (S3 refuses one: its client backs off by itself); `page_size`:
    None for the service's largest page."""

    retries: int = 3
    retry_backoff: float | None = None
    timeout: float = 30.0
    page_size: int | None = None

    def backoff_or(self, default: float) -> float:
        """`retry_backoff`, or the backend's `default` if none is set."""
        return default if self.retry_backoff is None else self.retry_backoff

    def page_size_or(self, default: int) -> int:
        """`page_size`, or the service's `default` (its largest page) if none is set."""
        return default if self.page_size is None else self.page_size


def require(module: str, extra_name: str, scheme: str) -> ModuleType:
    """Import a cloud SDK module, or raise a `MissingExtraError` naming the extra that installs it."""
    with extra(extra_name, f"Storage URLs '{scheme}://…'"):
        return importlib.import_module(module)


def validate_bucket(name: str, cloud: str, underscores: bool) -> str:
    """A bucket name as the cloud accepts it (3-63 lowercase letters, digits, dots, hyphens)."""
    if not isinstance(name, str) or not _BUCKET.match(name) or ("_" in name and not underscores) or ".." in name:
        allowed = "letters, digits, dots, hyphens" + (" and underscores" if underscores else "")
        raise InvalidStorageNameError(
            f"{cloud} bucket name {name!r} is invalid: use 3-63 lowercase {allowed}, "
            "starting and ending with a letter or digit (e.g. 'analytics-data')."
        )
    return name


class CloudEnvironment(dict[str, str]):
    """Environment variables for the Spark engine's own process; shown with the secret ones masked.

    `hadoop_jars` names what a JVM engine would need on its class path to reach the storage."""

    def __init__(self, values: dict[str, str], secret: tuple[str, ...], hadoop_jars: str):
        super().__init__(values)
        self.secret = secret
        self.hadoop_jars = hadoop_jars

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {'***' if k in self.secret else v!r}" for k, v in self.items()) + "}"


@dataclass(frozen=True)
class ObjectEntry:
    """One object as a listing shows it."""

    name: str
    size: int
    modified_ms: int


ObjectPage = tuple[list[ObjectEntry], list[str], str | None]  # objects, folder prefixes, continuation token


class ScannedListing(ABC):
    """`list_files` and `first_files` of a file system that scans a prefix page by page (`_scan`)."""

    @abstractmethod
    def _scan(self, path: str, until_found: bool) -> tuple[list[FileInfo], bool]:
        """The files under `path` (or `path` itself), all or (`until_found`) those of the first pages that show
        any, and whether that is all of them."""

    def list_files(self, path: str) -> list[FileInfo]:
        return self._scan(path, until_found=False)[0]

    def first_files(self, path: str) -> tuple[list[FileInfo], bool]:
        """Files under `path` (or `path` itself) from the fewest pages that show any: usually one
        request. Returns them and whether that is all of them."""
        return self._scan(path, until_found=True)


class ObjectFileSystem(ScannedListing):
    """One bucket as a dtflw `FileSystem`; backends give the primitives below and map their errors."""

    scheme = ""
    cloud = ""

    def __init__(self, bucket: str, requests: RequestPolicy = RequestPolicy()):  # noqa: B008 - frozen, shared safely
        self.bucket = bucket
        self.base = f"{self.scheme}://{bucket}/"
        self.requests = requests
        self.retries = requests.retries
        self._page_size = requests.page_size_or(PAGE_SIZE)

    # -- primitives -------------------------------------------------------------------------
    @abstractmethod
    def _list_page(self, prefix: str, delimiter: str | None, token: str | None) -> ObjectPage:
        """One page of the objects named `prefix…`: (objects, folder prefixes, continuation token or None)."""

    @abstractmethod
    def _read(self, name: str) -> bytes | None:
        """An object's bytes, or None if it does not exist."""

    @abstractmethod
    def _write(self, name: str, data: bytes) -> None:
        """Write a whole object in one request."""

    @abstractmethod
    def _remove(self, names: list[str]) -> None:
        """Delete objects (at most a page of them); missing ones are fine."""

    @abstractmethod
    def _errors(self, path: str, action: str) -> contextlib.AbstractContextManager[None]:
        """A context that turns the SDK's errors into dtflw errors naming bucket and path."""

    # -- conditional writes (the lease) -------------------------------------------------------
    @abstractmethod
    def create_if_absent(self, path: str, text: str) -> str | None:
        """Write an object only if none exists; its version token, or None if one exists."""

    @abstractmethod
    def replace_if(self, path: str, text: str, token: str) -> str | None:
        """Overwrite an object only if it still has version `token`; the new token, or None."""

    @abstractmethod
    def read_versioned(self, path: str) -> tuple[str, str] | None:
        """An object's text and version token, or None if it does not exist."""

    @abstractmethod
    def delete_if(self, path: str, token: str) -> None:
        """Delete an object only if it still has version `token` (else leave it)."""

    # -- the FileSystem protocol ------------------------------------------------------------
    def list_dir(self, path: str) -> list[FileInfo]:
        prefix = self.name(path).rstrip("/")
        prefix = prefix + "/" if prefix else ""
        found: dict[str, FileInfo] = {}
        for objects, folders, _ in self._pages(path, prefix, "/"):
            for folder in folders:
                name = folder[len(prefix) :]
                found.setdefault(name, FileInfo(self.base + folder, name, is_dir=True))
            for entry in objects:
                if entry.name != prefix:  # a console-made "folder" object
                    info = self._info(entry)
                    found.setdefault(info.name, info)
        return sorted(found.values(), key=lambda i: i.name)

    def read_text(self, path: str) -> str | None:
        with self._errors(path, "read"):
            data = self._read(self.name(path))
        return None if data is None else data.decode("utf-8")

    def write_text(self, path: str, text: str) -> None:
        """One PUT of the whole object: readers see the old or the new text, never a part."""
        with self._errors(path, "write"):
            self._write(self.name(path), text.encode("utf-8"))

    def delete(self, path: str) -> None:
        names = sorted({self.name(i.path) for i in self.list_files(path)})
        with self._errors(path, "delete"):
            for start in range(0, len(names), self._page_size):
                self._remove(names[start : start + self._page_size])

    def name(self, path: str) -> str:
        """The object name (key) of a path in this bucket."""
        if not path.startswith(self.base) and path + "/" != self.base:
            raise StorageError(f"Path {path!r} is not in bucket {self.base!r}.")
        return path[len(self.base) :]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base!r})"

    # -- helpers ----------------------------------------------------------------------------
    def _pages(
        self, path: str, prefix: str, delimiter: str | None
    ) -> Iterator[tuple[list[ObjectEntry], list[str], bool]]:
        """Pages of a listing: objects, folder prefixes, and whether more pages follow."""
        token = None
        while True:
            with self._errors(path, "list"):
                objects, folders, token = self._list_page(prefix, delimiter, token)
            yield objects, folders, bool(token)
            if not token:
                return

    def _scan(self, path: str, until_found: bool) -> tuple[list[FileInfo], bool]:
        name = self.name(path).rstrip("/")
        below = name + "/" if name else ""
        found: list[FileInfo] = []
        for objects, _, more in self._pages(path, name, None):
            for entry in objects:
                if entry.name == name or entry.name.startswith(below):
                    if not entry.name.endswith("/"):  # a "folder" object holds no data
                        found.append(self._info(entry))
                elif entry.name > below:  # names are sorted: nothing further can match
                    return found, True
            if until_found and found and more:
                return found, False
        return found, True

    def _info(self, entry: ObjectEntry) -> FileInfo:
        return FileInfo(
            path=self.base + entry.name,
            name=entry.name.rsplit("/", 1)[-1],
            size=entry.size,
            modification_time=entry.modified_ms,
        )


@runtime_checkable
class PagedListing(Protocol):
    """A file system that lists a prefix page by page: what is under a path from its first page."""

    def first_files(self, path: str) -> tuple[list[FileInfo], bool]: ...


class LookupsInOneListing(Storage):
    """`exists` and `list` from one listing request where the storage's file system pages (`PagedListing`)."""

    def exists(self, path: str) -> bool:
        """True if `path` is a file or a complete table; one list request unless the table is huge."""
        fs = self.fs
        if not isinstance(fs, PagedListing):
            return super().exists(path)
        logical = self.get_abs_path(path).rstrip("/")
        entries, complete = fs.first_files(logical)
        if state_from_listing(logical, entries).exists:
            return True
        return not complete and super().exists(path)

    def list(self, path_pattern: str, lister: Lister | None = None) -> list[str]:
        fs = self.fs
        if lister is not None or has_glob(path_pattern) or not isinstance(fs, PagedListing):
            return super().list(path_pattern, lister)
        pattern = self.get_abs_path(path_pattern).rstrip("/")
        return [pattern] if fs.first_files(pattern)[0] else []


class CloudAuth(Protocol):
    """How a bucket storage reaches its cloud: a mechanism to name, an environment to hand the engine."""

    @property
    def mechanism(self) -> str: ...

    def engine_environment(self) -> CloudEnvironment: ...


_Auth = TypeVar("_Auth", bound=CloudAuth)


def auth_or_dbutils(find: Callable[[], _Auth], dbutils: Any) -> _Auth | None:
    """The credentials `find` finds; None on a Databricks cluster without any (its `dbutils.fs` lists buckets)."""
    try:
        return find()
    except (StorageCredentialsError, MissingExtraError):
        if lists_cloud_storage(dbutils):
            return None
        raise


class BucketStorage(LookupsInOneListing):
    """Tables under `<scheme>://<bucket>/`, reached with `auth` through `fs`, or without credentials through
    `dbutils.fs`: existence and table state from one listing request."""

    def __init__(
        self,
        auth: CloudAuth | None,
        fs: ObjectFileSystem | None,
        bucket: str,
        root_dir: str,
        spark: Any,
        dbutils: Any,
        table_format: str,
    ):
        super().__init__(root_dir, spark, dbutils, table_format)
        self._auth = auth
        self._fs: FileSystem = fs or DbutilsFileSystem(dbutils)
        self._bucket = bucket

    scheme = ""
    cloud = ""  # its name in messages: "S3", "GCS"
    aliases: tuple[str, ...] = ()  # other schemes naming the same objects (s3a://)
    takes_retry_backoff = True  # False where the SDK's client backs off by itself (S3)

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def base_path(self) -> str:
        return f"{self.scheme}://{self._bucket}/"

    @property
    def url(self) -> str:
        return self.base_path + self.root_dir

    @property
    def fs(self) -> FileSystem:
        return self._fs

    @property
    def auth_mechanism(self) -> str:
        """Where the credentials came from ("env", "credentials file", "emulator", …, or "dbutils"); never a key."""
        return self._auth.mechanism if self._auth else "dbutils"

    def engine_environment(self) -> CloudEnvironment:
        """Environment variables that let the local Sail engine read and write this bucket (in its own process)."""
        if self._auth is None:
            raise StorageError(
                f"{self!r} reaches {self.cloud} through dbutils; there are no credentials to hand to Sail."
            )
        return self._auth.engine_environment()

    def logical_path(self, path: str) -> str:
        for alias in self.aliases:
            if path.startswith(f"{alias}://{self._bucket}/") or path == f"{alias}://{self._bucket}":
                return self.scheme + path[len(alias) :]
        return path


def split_url(url: str, scheme: str) -> tuple[str, str]:
    """The bucket and root folder of `<scheme>://<bucket>/<root>`."""
    prefix = f"{scheme}://"
    if not url.lower().startswith(prefix) or not url[len(prefix) :].split("/", 1)[0]:
        raise StorageError(f"Storage URL {url!r} is malformed; use {scheme}://<bucket>/<root folder>.")
    bucket, _, root = url[len(prefix) :].partition("/")
    return bucket, root.strip("/")


_Bucket = TypeVar("_Bucket", bound=BucketStorage)


def open_from_url(
    cls: type[_Bucket], url: str, env: StorageEnvironment, table_format: str, query: Mapping[str, list[str]]
) -> _Bucket:
    """A bucket storage of a URL in `env`; locally, the engine is handed the storage's credentials.

    `?timeout=&retries=` bound the wait for a service that stops answering (`retry_backoff` only where
    the storage class takes it: S3's backoff is botocore's own)."""
    from dtflw.storage.unavailable import deadline_options

    options = deadline_options(query, url)
    if "retry_backoff" in options and not cls.takes_retry_backoff:
        raise StorageError(
            f"Storage URL {url.split('?', 1)[0]!r}: retry_backoff= is not supported for {cls.scheme}:// {SELF_BACKOFF}."
        )
    bucket, root = split_url(url.split("?", 1)[0], cls.scheme)
    dbutils = None if env.is_local else env.dbutils
    make: Callable[..., Any] = cls  # a subclass: (bucket, root_dir, spark, dbutils, *, requests, table_format, …)
    storage: _Bucket = make(
        bucket, root, env.spark, dbutils, table_format=table_format, requests=RequestPolicy(**options)
    )
    if env.is_local and env.grant_engine_credentials is not None:
        env.grant_engine_credentials(storage.engine_environment())
    return storage
