"""Primitive file access that storages build on: list a prefix, read and write small texts, delete."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dtflw.errors import StorageError
from dtflw.storage import environment
from dtflw.storage.tables import FileInfo

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient


class FileSystem(Protocol):
    """The few operations dtflw needs from a file system; paths are the system's own."""

    def list_files(self, path: str) -> list[FileInfo]:
        """Every file under `path`, recursively (or `path` itself if a file); [] if missing."""

    def list_dir(self, path: str) -> list[FileInfo]:
        """The direct children of folder `path`; [] if missing."""

    def read_text(self, path: str) -> str | None:
        """The text of a file, or None if it does not exist."""

    def write_text(self, path: str, text: str) -> None:
        """Write a file atomically: readers see the old or the new text, never a part."""

    def delete(self, path: str) -> None:
        """Delete a file or a folder with everything under it; missing is fine."""


@runtime_checkable
class TailReading(Protocol):
    """A file system whose files can be cut short (a killed writer): table states check parquet footers."""

    def read_tail(self, path: str, size: int) -> bytes | None: ...


@runtime_checkable
class ConditionalCreating(Protocol):
    """An object store with conditional writes (S3 `If-None-Match`, GCS generations): leases use them.
    Tokens are the objects' versions (an ETag, a generation)."""

    def create_if_absent(self, path: str, text: str) -> str | None: ...

    def replace_if(self, path: str, text: str, token: str) -> str | None: ...

    def read_versioned(self, path: str) -> tuple[str, str] | None: ...

    def delete_if(self, path: str, token: str) -> None: ...


@runtime_checkable
class BlobLeasing(Protocol):
    """An Azure container, whose blob leases hold a storage's lease."""

    @property
    def container_client(self) -> ContainerClient: ...

    def blob_name(self, path: str) -> str: ...


def _info(path: str, entry: os.DirEntry[str] | None = None) -> FileInfo:
    stat = entry.stat() if entry is not None else os.stat(path)
    is_dir = entry.is_dir() if entry is not None else os.path.isdir(path)
    name = os.path.basename(path.rstrip("/")) + ("/" if is_dir else "")
    return FileInfo(
        path=path + ("/" if is_dir and not path.endswith("/") else ""),
        name=name,
        size=0 if is_dir else stat.st_size,
        modification_time=int(stat.st_mtime * 1000),
        is_dir=is_dir,
    )


class LocalFileSystem:
    """The machine's own disk (paths are absolute OS paths)."""

    def list_files(self, path: str) -> list[FileInfo]:
        path = path.rstrip("/") or "/"
        if os.path.isfile(path):
            return [_info(path)]
        found: list[FileInfo] = []
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                found.append(_info(os.path.join(folder, name)))
        return found

    def list_dir(self, path: str) -> list[FileInfo]:
        try:
            with os.scandir(path) as entries:
                return sorted((_info(e.path, e) for e in entries), key=lambda i: i.name)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def read_text(self, path: str) -> str | None:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def read_tail(self, path: str, size: int) -> bytes | None:
        """The last `size` bytes of a file (a file written by a killed process may be cut short)."""
        try:
            with open(path, "rb") as f:
                f.seek(-size, os.SEEK_END)
                return f.read(size)
        except (OSError, ValueError):
            return None

    def write_text(self, path: str, text: str) -> None:
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def delete(self, path: str) -> None:
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)


def lists_cloud_storage(dbutils: Any) -> bool:
    """True if `dbutils.fs` can list buckets and containers: a cluster's can; the local runtime's (which says
    `lists_cloud_storage = False`) maps only dbfs:/ and /Volumes; no dbutils cannot."""
    return bool(getattr(dbutils, "lists_cloud_storage", dbutils is not None))


class DbutilsFileSystem:
    """`dbutils.fs` on a Databricks cluster (paths such as `dbfs:/…`); with `dbutils=None`, the calling
    notebook's, found when first used (as dtflw 0.6)."""

    def __init__(self, dbutils: Any) -> None:
        self._dbutils = dbutils

    @property
    def _fs(self) -> Any:  # dbutils.fs: a cluster's, the local runtime's or the workspace's
        dbutils = self._dbutils if self._dbutils is not None else environment.current().dbutils
        if dbutils is None:
            raise StorageError(
                "No dbutils to reach the storage's files: pass dbutils= to the storage, or use it in a notebook."
            )
        return dbutils.fs

    def list_dir(self, path: str) -> list[FileInfo]:
        try:
            listed = self._fs.ls(path)
        except Exception as e:  # dbutils raises a generic wrapper around java.io.FileNotFoundException
            if "FileNotFoundException" in str(e):
                return []
            raise
        return [
            FileInfo(
                path=i.path,
                name=i.name,
                size=getattr(i, "size", 0),
                modification_time=getattr(i, "modificationTime", 0),
                is_dir=i.name.endswith("/"),
            )
            for i in listed
        ]

    def list_files(self, path: str) -> list[FileInfo]:
        found: list[FileInfo] = []
        pending = [path]
        while pending:
            for info in self.list_dir(pending.pop()):
                if info.is_dir:
                    pending.append(info.path)
                else:
                    found.append(info)
        return found

    def read_text(self, path: str) -> str | None:
        if not self.list_dir(path):
            return None
        text: str = self._fs.head(path, 64 * 1024 * 1024)
        return text

    def write_text(self, path: str, text: str) -> None:
        tmp = f"{path}.tmp-{os.getpid()}"
        self._fs.put(tmp, text, True)
        self._fs.mv(tmp, path)

    def delete(self, path: str) -> None:
        if self.list_dir(path):
            self._fs.rm(path, True)
