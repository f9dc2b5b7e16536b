"""The storage protocol: how a flow names, finds and inspects tables.

A storage has a *logical* base path (`dbfs:/`, `wasbs://c@a.blob.core.windows.net/`, a folder)
under which every table lives, a `root_dir` for default output paths, a default table format,
and a file system to list and read files. `engine_path` turns a logical path into one the Spark
engine can read (they differ only where a local folder stands in for a cloud location).
"""

from __future__ import annotations

import builtins
import os
import posixpath
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from dtflw.errors import PathOutsideStorageError, StorageError
from dtflw.storage.filesystems import FileSystem, LocalFileSystem, TailReading
from dtflw.storage.glob import glob_to_regex, has_glob, split_static_prefix
from dtflw.storage.tables import FORMATS, TABLE_PREFIX, FileInfo, TableState, state_from_listing

_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


@runtime_checkable
class NamingOutputTables(Protocol):
    """A storage whose outputs are catalog tables by default (a Unity Catalog storage, `uc://`)."""

    def output_table(self, output: str) -> str:
        """The three-part name of output `output`'s table."""


class TableStates(Protocol):
    """A table catalog that answers for Unity Catalog tables (`uc:<catalog>.<schema>.<table>`)."""

    def state(self, ref: str) -> TableState: ...


class ListedPath(Protocol):
    """One entry of a folder as a 0.6 `lister` gives it (dbutils' `FileInfo`): a name and a path."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...


Lister = Callable[[str], Iterable[ListedPath]]  # a folder's entries by its path (dtflw 0.6, for tests)


class Storage(ABC):
    """A place where tables live. Subclasses give `base_path`, `url` and a file system."""

    def __init__(self, root_dir: str = "", spark: Any = None, dbutils: Any = None, table_format: str = "parquet"):
        if table_format not in FORMATS:
            raise StorageError(f"Unknown table format {table_format!r}; use one of {', '.join(FORMATS)}.")
        self._root_dir = (root_dir or "").strip("/")
        self._spark = spark
        self._spark_source: Callable[[], Any] | None = None
        self._tables: TableStates | None = None  # the catalog that answers for Unity Catalog tables (`uc:` refs)
        self.dbutils = dbutils
        self.table_format = table_format

    @property
    def spark(self) -> Any:
        """The session that reads this storage's tables; a bound source is asked only when one is read."""
        if self._spark is None and self._spark_source is not None:
            return self._spark_source()
        return self._spark

    @spark.setter
    def spark(self, value: Any) -> None:
        self._spark = value

    def bind_spark(self, source: Callable[[], Any]) -> None:
        """Read tables with the session `source()` returns, asked on first use (no engine before)."""
        self._spark_source = source

    def bind_tables(self, catalog: TableStates) -> None:
        """Answer for Unity Catalog tables (`uc:<catalog>.<schema>.<table>`) with `catalog.state(ref)`."""
        self._tables = catalog

    def _catalog_table_state(self, ref: str) -> TableState:
        """From the catalog bound (locally, the workspace's), else from the Spark session's own catalog (on a
        Databricks cluster, or through databricks-connect)."""
        if self._tables is None:
            from dtflw.storage.spark_catalog import SparkTableCatalog

            return SparkTableCatalog(lambda: self._require_spark(ref)).state(ref)
        return self._tables.state(ref)

    # -- what a backend provides -------------------------------------------------------------
    @property
    @abstractmethod
    def base_path(self) -> str:
        """The logical absolute prefix of every path on this storage, ending with `/`."""

    @property
    @abstractmethod
    def fs(self) -> FileSystem:
        """The file system that reaches this storage's files (by `fs_path`)."""

    @property
    @abstractmethod
    def url(self) -> str:
        """A URL that `dtflw.storage.from_url` turns back into an equal storage (no secrets)."""

    def fs_path(self, path: str) -> str:
        """The path of a logical path on `fs`."""
        return path

    def engine_path(self, path: str) -> str:
        """The path of a logical path as Spark and notebooks read it."""
        return path

    def logical_path(self, path: str) -> str:
        """The logical path of an engine path (the inverse of `engine_path`)."""
        return path

    # -- dtflw 0.6 API ----------------------------------------------------------------------
    @property
    def root_dir(self) -> str:
        return self._root_dir

    def is_abs_path(self, path: str) -> bool:
        """True if `path` is an absolute path on this storage (logical or engine form)."""
        if not path:
            return False
        return self.logical_path(path).startswith(self.base_path)

    def get_abs_path(self, rel_path: str) -> str:
        """The absolute logical path of a path relative to the base path (root_dir not applied)."""
        if self.is_abs_path(rel_path):
            return self.logical_path(rel_path)
        if _URL_LIKE.match(rel_path or ""):
            raise PathOutsideStorageError(
                f"Path {rel_path!r} lies outside storage {self.base_path!r}; "
                "give a path relative to the storage or one under its base path."
            )
        relative = (rel_path or "").lstrip("/")
        clean = posixpath.normpath(relative) if relative else ""
        if clean == ".." or clean.startswith("../"):
            raise PathOutsideStorageError(f"Path {rel_path!r} escapes storage {self.base_path!r}; remove the '..'.")
        if clean == ".":
            return self.base_path
        return self.base_path + clean + ("/" if relative.endswith("/") else "")  # a folder's `/` kept, as 0.6

    def resolve_foreign_input(self, path: str) -> str:
        """The absolute path of an input's `file_path`; a path outside this storage is an error here
        (backends that can check a foreign location is readable accept it)."""
        return self.get_abs_path(path)

    def get_path_with_file_extension(self, file_path: str, table_format: str | None = None) -> str:
        return f"{file_path}.{table_format or self.table_format}"

    def get_path_in_root_dir(self, rel_path: str) -> str:
        return f"{self._root_dir}/{rel_path}" if self._root_dir else rel_path

    def list(self, path_pattern: str, lister: Lister | None = None) -> list[str]:
        """Absolute paths matching a Spark glob (`*`, `?`, `[ab]`, `{a,b}`), files and folders.

        `lister(path)` (dtflw 0.6, for tests) lists a folder as objects with `name` and `path` in
        place of the storage: the pattern is then matched one folder level at a time, and folders
        keep their trailing `/`, as 0.6 returned them."""
        if lister is not None:
            parts = self.get_abs_path(path_pattern)[len(self.base_path) :].split("/")
            return _walk(self.base_path, parts, lister)
        pattern = self.get_abs_path(path_pattern).rstrip("/")
        if not has_glob(pattern):
            return [pattern] if self.fs.list_files(self.fs_path(pattern)) else []
        folder, _ = split_static_prefix(pattern)
        regex = glob_to_regex(pattern)
        found: set[str] = set()
        for info in self.fs.list_files(self.fs_path(folder)):
            logical = self._from_fs(info.path)
            candidates = [logical]
            parts = logical[len(folder) :].split("/")
            candidates += [folder + "/".join(parts[:i]) for i in range(1, len(parts))]
            found.update(c for c in candidates if regex.match(c))
        return sorted(found)

    def exists(self, path: str) -> bool:
        """True if `path` is a file or a complete table (data files or a Delta commit)."""
        return self.table_state(path).exists

    def read_table(self, path: str, table_format: str | None = None) -> Any:
        """Read a table with the bound Spark session (parquet or Delta, detected; a catalog table by name)."""
        if path.startswith(TABLE_PREFIX):
            return self._require_spark(path).table(path[len(TABLE_PREFIX) :])
        fmt = table_format or self._detect_format(path)
        reader, engine_path = self._require_spark(path).read, self.engine_path(self.get_abs_path(path))
        return reader.parquet(engine_path) if fmt == "parquet" else reader.format(fmt).load(engine_path)

    def write_table(self, df: Any, path: str, table_format: str | None = None) -> None:
        """Overwrite a table at `path` in the given (or this storage's) format."""
        fmt = table_format or self.format_from_extension(path) or self.table_format
        writer, engine_path = df.write.mode("overwrite"), self.engine_path(self.get_abs_path(path))
        if fmt == "parquet":
            writer.parquet(engine_path)
        else:
            writer.format(fmt).save(engine_path)

    # -- table awareness --------------------------------------------------------------------
    def table_state(self, path: str) -> TableState:
        """The state of the table (or file) at `path`, from one listing of its files."""
        if path.startswith(TABLE_PREFIX):
            return self._catalog_table_state(path)
        logical = self.get_abs_path(path).rstrip("/")
        listing = self.fs.list_files(self.fs_path(logical))
        entries = [self._to_logical(i) for i in listing]
        tail = self.fs.read_tail if isinstance(self.fs, TailReading) else None  # files that can be cut short
        return state_from_listing(
            logical,
            entries,
            read_text=lambda p: self.fs.read_text(self.fs_path(p)),
            read_tail=(lambda p, n: tail(self.fs_path(p), n)) if tail else None,
        )

    def read_text(self, path: str) -> str | None:
        return self.fs.read_text(self.fs_path(self.get_abs_path(path)))

    def write_text(self, path: str, text: str) -> None:
        self.fs.write_text(self.fs_path(self.get_abs_path(path)), text)

    def delete(self, path: str) -> None:
        self.fs.delete(self.fs_path(self.get_abs_path(path)))

    def list_dir(self, path: str) -> builtins.list[FileInfo]:  # `list` is the method above
        return [self._to_logical(i) for i in self.fs.list_dir(self.fs_path(self.get_abs_path(path)))]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, root_dir={self._root_dir!r})"

    # -- helpers ----------------------------------------------------------------------------
    def _from_fs(self, fs_path: str) -> str:
        """The logical path of a file system path (inverse of `fs_path`)."""
        return fs_path

    def _to_logical(self, info: FileInfo) -> FileInfo:
        path = self._from_fs(info.path)
        return FileInfo(path, info.name, info.size, info.modification_time, info.is_dir, info.etag)

    def _require_spark(self, path: str) -> Any:
        if self.spark is None:
            raise StorageError(
                f"No Spark session is bound to {self!r} to read {path!r}; pass spark= or use init_flow()."
            )
        return self.spark

    @staticmethod
    def format_from_extension(path: str) -> str | None:
        """`parquet` or `delta` when a path's extension names a table format, else None."""
        suffix = path.rstrip("/").rpartition(".")[2].lower()
        return suffix if suffix in FORMATS else None

    def _detect_format(self, path: str) -> str:
        try:
            state = self.table_state(path)
        except StorageError:  # nothing to list it with (built without dbutils, outside a notebook)
            return self.format_from_extension(path) or self.table_format
        if state.format in FORMATS:
            return state.format
        return self.format_from_extension(path) or state.format or self.table_format


def _walk(folder: str, parts: list[str], lister: Lister) -> list[str]:
    """The paths under `folder` whose names match `parts` (one glob per level), listed by `lister`."""
    regex = glob_to_regex(parts[0])
    found: list[str] = []
    for info in lister(folder):
        if regex.match(info.name.rstrip("/")):
            found += [info.path] if len(parts) == 1 else _walk(info.path, parts[1:], lister)
    return found


class FolderStorage(Storage):
    """A storage whose files sit in a local folder, under a logical base path of its own.

    With `base_path` equal to the folder it is the plain local storage; with `dbfs:/` or
    `/Volumes/...` it is the local stand-in for those locations.
    """

    def __init__(
        self,
        folder: str,
        base_path: str | None = None,
        *,
        root_dir: str = "",
        spark: Any = None,
        dbutils: Any = None,
        table_format: str = "parquet",
    ):
        super().__init__(root_dir=root_dir, spark=spark, dbutils=dbutils, table_format=table_format)
        self._folder = posixpath.join(_absolute(folder), "")
        self._base = base_path if base_path is not None else self._folder
        self._fs: FileSystem = LocalFileSystem()

    @property
    def folder(self) -> str:
        return self._folder

    @property
    def base_path(self) -> str:
        return self._base

    @property
    def fs(self) -> FileSystem:
        return self._fs

    @property
    def url(self) -> str:
        return "file://" + self._folder.rstrip("/")

    def fs_path(self, path: str) -> str:
        return self.engine_path(path)

    def engine_path(self, path: str) -> str:
        if path.startswith(self._base):
            return self._folder + path[len(self._base) :]
        return path

    def logical_path(self, path: str) -> str:
        if path.startswith(self._folder) or path + "/" == self._folder:
            return self._base + path[len(self._folder) :]
        return path

    def _from_fs(self, fs_path: str) -> str:
        return self.logical_path(fs_path)


def _absolute(folder: str) -> str:
    return os.path.abspath(os.path.expanduser(folder))
