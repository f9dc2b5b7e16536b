"""The Databricks namespaces for a notebook's own file access: `open()`, `%sh`, and what cannot be emulated.

On a cluster `/dbfs/…` (the DBFS FUSE mount), `/Volumes/…` and `/Workspace/…` are local folders to every
library. Locally they would have to exist at the machine's root, which dtflw never creates. So:

- `open()` in the notebook and in the modules it imports from the workspace maps them (`namespaces`), and
  so do `os`, `pathlib`, `shutil` and pure-Python libraries, through `dtflw.local.fuse_paths`;
- a `%sh` cell gets its namespace paths rewritten to the local folders before it runs;
- native code (pyarrow, so pandas' parquet) sees the machine's real root, where these paths do not exist:
  the error it raises is completed with what to do instead (never a silent difference).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from dtflw.errors import NamespacePathError
from dtflw.local.namespaces import WorkspaceNamespaces

if TYPE_CHECKING:
    from _typeshed import FileDescriptorOrPath

OpenFunction = Callable[..., IO[Any]]  # `open()`: (file, mode, …) → a text or binary file

_FUSE_PATH = re.compile(r"(?<![\w./:-])(/(?:dbfs|Volumes|Workspace)(?=/|\b)[^\s'\";|&<>()`$]*)")


def opening_namespaces(open_: OpenFunction, namespaces: WorkspaceNamespaces) -> OpenFunction:
    """`open_` taking `/dbfs/…`, `/Volumes/…`, `/Workspace/…` and `dbfs:`/`file:` paths as Databricks does."""

    def open_with_namespaces(file: FileDescriptorOrPath, *args: Any, **kwargs: Any) -> IO[Any]:
        if isinstance(file, os.PathLike):
            file = os.fspath(file)
        if isinstance(file, str):
            local = namespaces.local_path(file)
            file = file if local is None else local
        return open_(file, *args, **kwargs)

    return open_with_namespaces


def shell_with_namespaces(script: str, namespaces: WorkspaceNamespaces) -> str:
    """A `%sh` script with its FUSE paths (`/dbfs/x`, `/Volumes/…`, `/Workspace/…`) made local; `dbfs:/x` stays,
    as a shell on a cluster does not know it either."""

    def local(match: re.Match[str]) -> str:
        found = namespaces.local_path(match.group(1))
        return match.group(1) if found is None else found

    return _FUSE_PATH.sub(local, script)


def namespace_file_error(error: BaseException, namespaces: WorkspaceNamespaces | None) -> str:
    """What to do, when `error` is a library failing on a namespace path it cannot see here; else ""."""
    if namespaces is None:
        return ""
    for cause in _chain(error):
        if not isinstance(cause, OSError):
            continue
        named = os.fsdecode(cause.filename) if isinstance(cause.filename, (str, bytes)) else ""
        found = _FUSE_PATH.search(named or str(cause))  # native code names the path in its message only
        try:
            where = namespaces.local_path(found.group(1)) if found else None
        except NamespacePathError:
            where = None
        if where is not None and found:
            name = found.group(1)
            return (
                f". Locally {name} is the folder {where}: Python's file functions (open, os, pathlib, "
                "shutil) map /dbfs, /Volumes and /Workspace paths in the notebook's thread, but native code (pyarrow, "
                "pandas' parquet) and threads started without the notebook's context see the machine's root, where "
                "they do not exist. Pass such code an open() file or the local folder, or read it with Spark."
            )
    return ""


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__
