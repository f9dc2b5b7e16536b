"""The FUSE views of a cluster (`/dbfs/…`, `/Volumes/…`, `/Workspace/…`) for Python code of a local notebook run.

On a cluster these are local folders to every library: `os.path.exists("/dbfs/x")`, `pathlib`, `shutil`,
`glob`, pandas' `read_csv`. Locally they would have to exist at the machine's root, which dtflw never
creates. Instead, once a notebook runs, the file functions of `os`, `builtins.open` and `io.open` are
wrapped in this process: a path under one of these three roots, used by code running for a local notebook
(the runtime made current on its thread, `dtflw.runtime.active_runtime`), is the workspace's folder. Any
other path, and any code outside a notebook run, goes to the real function unchanged.

Not reached: native code with its own file access (pyarrow, hence pandas' parquet; C extensions) and
threads a notebook starts itself without copying its context — they see the machine's root, where these
paths do not exist, and fail (the notebook's error then says what to do).
"""

from __future__ import annotations

import builtins
import functools
import io
import os
from collections.abc import Callable
from typing import Any, TypeVar

from dtflw.runtime import active_runtime

ROOTS = ("/dbfs", "/Volumes", "/Workspace")
_ONE_PATH = (
    "stat", "lstat", "listdir", "scandir", "mkdir", "rmdir", "remove", "unlink", "open", "access", "chmod", "utime",
)  # fmt: skip
_TWO_PATHS = ("rename", "replace")
_installed: list[bool] = []
_R = TypeVar("_R")


def install() -> None:
    """Wrap the file functions once per process (idempotent)."""
    if _installed:
        return
    for names, count in ((_ONE_PATH, 1), (_TWO_PATHS, 2)):
        for name in names:
            original = getattr(os, name)
            wrapped = _mapping_first(original, count)
            for capabilities in (os.supports_dir_fd, os.supports_fd, os.supports_follow_symlinks):
                if original in capabilities:  # shutil and pathlib choose their (safe) paths by these
                    capabilities.add(wrapped)
            setattr(os, name, wrapped)
    opening = _mapping_first(builtins.open, 1)
    for module in (builtins, io):
        setattr(module, "open", opening)  # noqa: B010 - typed, `open` is an overloaded function, not assignable
    _installed.append(True)


def local_path(path: object) -> object:
    """`path` as the running notebook sees it: a FUSE path is its workspace's folder."""
    text = path if isinstance(path, str) else None
    if text is None and isinstance(path, os.PathLike):
        text = os.fspath(path)
        text = text if isinstance(text, str) else None
    if not text or not text.startswith(ROOTS):
        return path
    runtime = active_runtime()
    namespaces = runtime.local.namespaces if runtime is not None else None
    if namespaces is None:
        return path
    local = namespaces.local_path(text)
    return path if local is None else local


def _mapping_first(function: Callable[..., _R], count: int) -> Callable[..., _R]:
    @functools.wraps(function)
    def on_local_folders(*args: Any, **kwargs: Any) -> _R:
        if args:
            args = tuple(local_path(a) for a in args[:count]) + args[count:]
        return function(*args, **kwargs)

    return on_local_folders
