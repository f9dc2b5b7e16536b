"""The Databricks namespaces for a notebook's own file access: `open()`, `%sh`, and what cannot be emulated.

On a cluster `/dbfs/…` (the DBFS FUSE mount), `/Volumes/…` and `/Workspace/…` are local folders to every
library. Locally they would have to exist at the machine's root, which dtflw never creates. So:

- `open()` in the notebook and in the modules it imports from the workspace maps them (`namespaces`);
- a `%sh` cell gets its namespace paths rewritten to the local folders before it runs;
- `os`, `pathlib`, `shutil`, pandas and other libraries see the machine's real root, where these paths do
  not exist: the error they raise is completed with what to do instead (never a silent difference).
"""

from __future__ import annotations

import os
import re

from dtflw.local.namespaces import WorkspaceNamespaces

_SHELL_PATH = re.compile(r"(?<![\w./:-])(/(?:dbfs|Volumes|Workspace)(?=/|\b)[^\s'\";|&<>()`$]*)")


def opening_namespaces(open_, namespaces: WorkspaceNamespaces):
    """`open_` taking `/dbfs/…`, `/Volumes/…`, `/Workspace/…` and `dbfs:`/`file:` paths as Databricks does."""

    def open_with_namespaces(file, *args, **kwargs):
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

    def local(match: re.Match) -> str:
        found = namespaces.local_path(match.group(1))
        return match.group(1) if found is None else found

    return _SHELL_PATH.sub(local, script)


def namespace_file_error(error: BaseException, namespaces: WorkspaceNamespaces | None) -> str:
    """What to do, when `error` is a library failing on a namespace path it cannot see here; else ""."""
    if namespaces is None:
        return ""
    for cause in _chain(error):
        name = getattr(cause, "filename", None)
        if isinstance(cause, OSError) and WorkspaceNamespaces.names_namespace(os.fsdecode(name or "")):
            where = namespaces.local_path(os.fsdecode(name))
            return (
                f". Locally {os.fsdecode(name)} is the folder {where}: only open(), %sh, dbutils.fs and Spark map "
                "/dbfs, /Volumes and /Workspace paths; os, pathlib, shutil and libraries such as pandas see the "
                "machine's root, where they do not exist. Pass such a library an open() file, or read it with Spark."
            )
    return ""


def _chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__
