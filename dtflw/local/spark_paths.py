"""The Databricks namespaces in the Spark sessions handed to local notebooks.

A session bound to a workspace's namespaces (`bind`) takes `dbfs:/…`, `/dbfs/…`, `/Volumes/…`,
`/Workspace/…` and `file:/…` paths as Databricks does — in every reader and writer (batch and
streaming, `option("path")`, `checkpointLocation`) and in SQL (`fmt.\\`path\\``, `LOCATION '…'`,
`OPTIONS (path '…')`, `COPY INTO … FROM '…'`) — and a read of a local path that does not exist fails
with `[PATH_NOT_FOUND]` as on Databricks, where Sail would return an empty DataFrame.

The seam is the pyspark classes' path-taking methods, wrapped once per process; they translate only
for sessions bound here, so every other session (and dtflw's own resolved local paths) is untouched.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from dtflw.errors import EngineError, PathNotFoundError, UnreadablePathError
from dtflw.local.namespaces import WorkspaceNamespaces, without_file_scheme
from dtflw.local.source import _after_block_comment, _after_quoted
from dtflw.storage.glob import glob_to_regex, has_glob, split_static_prefix

_BOUND = "_dtflw_namespaces"
_SAIL = "_dtflw_sail"
_PATH_OPTION_TABLE = re.compile(r"\bCREATE\b.*\bOPTIONS\s*\(.*\bpath\b\s*=?\s*['\"]", re.IGNORECASE | re.DOTALL)
_SESSION_ATTRIBUTES = ("_spark", "_client", "_session")  # where readers and writers keep their session
_PATH_KEYWORDS = ("path", "paths", "checkpointLocation")
_READERS = ("load", "parquet", "csv", "json", "text", "orc", "xml")
_WRITERS = ("save", "parquet", "csv", "json", "text", "orc", "xml", "saveAsTable", "start", "toTable")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_QUOTED_PATH_AFTER = re.compile(r"(?:\bLOCATION|\bDIRECTORY|\bFROM|\bpath\s*=?|\bread_files\s*\()\s*$", re.IGNORECASE)
_PATH_TABLE_NAME = re.compile(r"^\s*(\w+)\s*\.\s*`(.*)`\s*$", re.DOTALL)
_TABLE_OF_PATH = re.compile(r"\b\w+\s*\.\s*$")
_READ_CONTEXT = re.compile(r"(?:\bFROM|\bJOIN)\s+\w+\s*\.\s*$", re.IGNORECASE)
_INFERRED_FORMATS = ("parquet", "csv", "json", "orc", "xml", "avro")  # formats whose schema is read from the files
DBFS_ROOT_FOLDERS = ("FileStore", "mnt", "databricks-datasets", "user")  # first folders of DBFS paths, never local
_installed: list[bool] = []
_E = TypeVar("_E", bound=Exception)
Method = Callable[..., Any]  # a method of a pyspark reader, writer or session: (self, …) → its answer


def bind(session: Any, namespaces: WorkspaceNamespaces, *, sail: bool = False) -> Any:
    """Let `session` read and write the Databricks namespaces as `namespaces` maps them; returns it.
    `sail`: the session is Sail's, whose SQL has gaps refused here rather than left silent."""
    if not _installed:
        _install()
        _installed.append(True)
    setattr(session, _BOUND, namespaces)
    setattr(session, _SAIL, sail)
    return session


def namespaces_of(session: object) -> WorkspaceNamespaces | None:
    return getattr(session, _BOUND, None)


def _analysis_error(base: type[_E], message: str) -> _E:
    """An error that is both dtflw's `base` and pyspark's AnalysisException, as Databricks raises it."""
    cls: type = base  # a class is hashable, as the cache needs (mypy doubts it of `type[X]`: python/mypy#20409)
    error: _E = _as_analysis_exception(cls)(message=message)  # built as an AnalysisException is
    return error


@functools.cache
def _as_analysis_exception(base: type) -> type:
    from pyspark.errors import AnalysisException

    return type(base.__name__, (base, AnalysisException), {"__doc__": base.__doc__, "__module__": __name__})


def path_not_found(
    path: str, local: str | None = None, namespaces: WorkspaceNamespaces | None = None
) -> PathNotFoundError:
    """The error Databricks raises for a missing path (an AnalysisException, and a dtflw PathNotFoundError)."""
    where = f" (locally {local})" if local and local != path else ""
    hint = ""
    on_dbfs = not _URL.match(path) and os.path.isabs(path)
    if (
        namespaces is not None
        and on_dbfs
        and (path.split("/")[1] in DBFS_ROOT_FOLDERS or os.path.exists(namespaces.dbfs_root + path))
    ):
        hint = (
            f" On Databricks a path without a scheme is on the DBFS: write dbfs:{path} to read it from the local "
            f"DBFS root ({namespaces.dbfs_root}) here and there."
        )
    message = f"[PATH_NOT_FOUND] Path does not exist: {path}{where}. SQLSTATE: 42K03{hint}"
    return _analysis_error(PathNotFoundError, message)


def check_inferable(original: object, local: object, table_format: str | None, schema: object) -> None:
    """`[UNABLE_TO_INFER_SCHEMA]` for a folder without data files read with no schema, as on Databricks (Sail
    would return an empty DataFrame without columns). A Delta table's folder always has its log."""
    fmt = (table_format or "parquet").lower()
    if schema or fmt not in _INFERRED_FORMATS or not isinstance(local, str) or has_glob(local):
        return
    folder = without_file_scheme(local)
    if not os.path.isdir(folder) or os.path.isdir(os.path.join(folder, "_delta_log")):
        return
    for _, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        if any(not f.startswith(("_", ".")) for f in files):
            return
    message = (
        f"[UNABLE_TO_INFER_SCHEMA] Unable to infer schema for {fmt.capitalize()} at {original}. It must be specified "
        f"manually. SQLSTATE: 42KD9 (the folder {folder} holds no data files)"
    )
    raise _analysis_error(UnreadablePathError, message)


def translated(namespaces: WorkspaceNamespaces, path: object) -> object:
    """`path` (a string, or a list or tuple of them) with namespace paths made local."""
    if isinstance(path, (list, tuple)):
        return type(path)(translated(namespaces, p) for p in path)
    if isinstance(path, str):
        local = namespaces.local_path(path)
        return path if local is None else local
    return path


def check_readable(namespaces: WorkspaceNamespaces, original: object, local: object) -> None:
    """PATH_NOT_FOUND for a local path (or glob) that names nothing; cloud URLs are the engine's to check."""
    if isinstance(local, (list, tuple)) and isinstance(original, (list, tuple)):  # one translated from the other
        for o, p in zip(original, local, strict=True):
            check_readable(namespaces, o, p)
        return
    if not isinstance(local, str) or (_URL.match(local) and not local.startswith("file:")):
        return
    plain = without_file_scheme(local)
    if not (_glob_matches(plain) if has_glob(plain) else os.path.exists(plain)):
        raise path_not_found(str(original), local, namespaces)  # a path given as text, as `local` is


def translate_sql(namespaces: WorkspaceNamespaces, text: str) -> str:
    """SQL text with its path literals made local: `fmt.\\`path\\``, and '…' after LOCATION, FROM (COPY INTO),
    `path` options and read_files(; a query's `FROM fmt.\\`path\\`` must exist. Other literals stay as written."""
    pieces, start, position = [], 0, 0
    while position < len(text):
        char = text[position]
        if text.startswith("--", position):
            end = text.find("\n", position)
            position = len(text) if end < 0 else end
        elif text.startswith("/*", position):
            position = _after_block_comment(text, position)
        elif char in "'\"`":
            end = _after_quoted(text, position)
            before = text[max(0, position - 200) : position]
            is_path = _TABLE_OF_PATH.search(before) if char == "`" else _QUOTED_PATH_AFTER.search(before)
            value = text[position + 1 : end - 1]
            local = namespaces.local_path(value) if is_path else None
            read = char == "`" and is_path and _READ_CONTEXT.search(before)
            if read and (local is not None or value.startswith("/")):
                check_readable(namespaces, value, local if local is not None else value)
            if local is not None:
                pieces += [text[start : position + 1], local.replace("\\", "\\\\").replace(char, "\\" + char)]
                start = end - 1
            position = end
        else:
            position += 1
    pieces.append(text[start:])
    return "".join(pieces)


def _glob_matches(pattern: str) -> bool:
    folder, rest = split_static_prefix(pattern.rstrip("/"))
    regex = glob_to_regex(pattern.rstrip("/"))
    level = [folder.rstrip("/") or "/"]
    for _ in rest.split("/"):
        level = [os.path.join(d, n) for d in level if os.path.isdir(d) for n in os.listdir(d)]
    return any(regex.match(p) for p in level)


def _listed(paths: object) -> list[object]:
    return list(paths) if isinstance(paths, (list, tuple)) else [paths]


def _bound_namespaces(handle: object) -> WorkspaceNamespaces | None:
    for attribute in _SESSION_ATTRIBUTES:
        found = namespaces_of(getattr(handle, attribute, None))
        if found is not None:
            return found
    return None


def _path_method(method: Method, reads: bool) -> Method:
    """`method` of a reader or writer, taking namespace paths (positional paths, `path=`, `paths=`)."""

    @functools.wraps(method)
    def with_namespaces(self: Any, *args: Any, **kwargs: Any) -> Any:
        namespaces = _bound_namespaces(self)
        if namespaces is None:
            return method(self, *args, **kwargs)
        if reads and method.__name__ == "load" and not args and "path" not in kwargs:
            given = getattr(self, "_options", {})  # a Connect read; Sail ignores a `path` option and reads nothing
            kwargs = {**kwargs, "path": given.pop("path")} if "path" in given else kwargs
        positional = len(args) if method.__name__ == "parquet" and reads else min(len(args), 1)
        if method.__name__ in ("saveAsTable", "toTable"):
            positional = 0  # a table name, not a path
        paths = list(args[:positional])
        local = [translated(namespaces, p) for p in paths]
        keywords = {k: translated(namespaces, v) if k in _PATH_KEYWORDS else v for k, v in kwargs.items()}
        if reads:
            check_readable(namespaces, paths, local)
            for key in ("path", "paths"):
                if key in kwargs:
                    check_readable(namespaces, kwargs[key], keywords[key])
            if method.__name__ == "load" and hasattr(self, "_format"):  # a Connect read: Sail gives no error itself
                given = keywords.get("path", local[0] if local else None)
                table_format = kwargs.get("format") or self._format
                for original, one in zip(_listed(kwargs.get("path", paths[0] if paths else None)), _listed(given)):
                    check_inferable(original, one, table_format, kwargs.get("schema") or self._schema)
        return method(self, *local, *args[positional:], **keywords)

    return with_namespaces


def _option_method(method: Method) -> Method:
    @functools.wraps(method)
    def with_namespaces(self: Any, key: str, value: object) -> Any:
        namespaces = _bound_namespaces(self)
        if namespaces is not None and key in _PATH_KEYWORDS:
            value = translated(namespaces, value)
        return method(self, key, value)

    return with_namespaces


def _options_method(method: Method) -> Method:
    @functools.wraps(method)
    def with_namespaces(self: Any, **options: object) -> Any:
        namespaces = _bound_namespaces(self)
        if namespaces is not None:
            options = {k: translated(namespaces, v) if k in _PATH_KEYWORDS else v for k, v in options.items()}
        return method(self, **options)

    return with_namespaces


def _table_method(method: Method) -> Method:
    """`table("parquet.\\`dbfs:/…\\`")`: a path table name read from the namespaces."""

    @functools.wraps(method)
    def with_namespaces(self: Any, tableName: object, *args: Any, **kwargs: Any) -> Any:  # noqa: N803 - pyspark's name
        namespaces = _bound_namespaces(self) or namespaces_of(self)
        found = _PATH_TABLE_NAME.match(tableName) if namespaces is not None and isinstance(tableName, str) else None
        if (
            found
            and namespaces is not None
            and (found.group(2).startswith("/") or namespaces.names_namespace(found.group(2)))
        ):
            local = translated(namespaces, found.group(2))
            check_readable(namespaces, found.group(2), local)
            tableName = f"{found.group(1)}.`{local}`"  # noqa: N806
        return method(self, tableName, *args, **kwargs)

    return with_namespaces


def _sql_method(method: Method) -> Method:
    @functools.wraps(method)
    def with_namespaces(self: Any, sqlQuery: object, *args: Any, **kwargs: Any) -> Any:  # noqa: N803 - pyspark's name
        namespaces = namespaces_of(self)
        if namespaces is not None and isinstance(sqlQuery, str):
            if getattr(self, _SAIL, False) and _PATH_OPTION_TABLE.search(sqlQuery):
                raise EngineError(
                    "The Sail engine ignores `OPTIONS (path '…')` in CREATE TABLE: the table would read empty. "
                    "Write the path as `LOCATION '…'` (Databricks takes both), or run with --engine spark."
                )
            sqlQuery = translate_sql(namespaces, sqlQuery)  # noqa: N806
        return method(self, sqlQuery, *args, **kwargs)

    return with_namespaces


def _install() -> None:
    """Wrap the path-taking methods of pyspark's classic and Connect readers, writers and sessions."""
    import importlib

    for module_name in ("pyspark.sql", "pyspark.sql.connect"):
        try:
            readwriter = importlib.import_module(f"{module_name}.readwriter")
            streaming = importlib.import_module(f"{module_name}.streaming.readwriter")
            session = importlib.import_module(f"{module_name}.session")
        except ImportError:  # Spark Connect's dependencies (grpc) not installed
            continue
        classes = [
            (readwriter.DataFrameReader, _READERS, True),
            (readwriter.DataFrameWriter, _WRITERS, False),
            (streaming.DataStreamReader, _READERS, False),  # a stream may start before its folder exists
            (streaming.DataStreamWriter, _WRITERS, False),
        ]
        for cls, names, reads in classes:
            for name in names:
                if name in vars(cls):
                    setattr(cls, name, _path_method(vars(cls)[name], reads))
            cls.option = _option_method(vars(cls)["option"])
            cls.options = _options_method(vars(cls)["options"])
        readwriter.DataFrameReader.table = _table_method(readwriter.DataFrameReader.table)
        session.SparkSession.sql = _sql_method(session.SparkSession.sql)
        session.SparkSession.table = _table_method(session.SparkSession.table)
