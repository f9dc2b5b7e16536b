"""Imports, relative `open()` and the working directory of a local notebook run, as on Databricks.

On Databricks (Git folders, workspace files) a notebook's folder is its working directory and is on
`sys.path`, and so is the root of its Git folder; each notebook runs in a Python process of its own.
Locally notebooks share one process and may run at once (DAG threads), while `sys.path`,
`sys.modules` and the working directory belong to the whole process. So dtflw emulates them per run:

- imports: a notebook run gets its own `__import__`, in the builtins of its namespace and of the
  modules it loads from its folders. A top-level name the process has not imported yet is looked for
  in the notebook's folder, then the project root (the nearest folder above holding `.git`, looked up
  once per folder and process), then the workspace root. A module or package found there is loaded from source for this run only (an edit
  is seen by the next run; two notebooks at once each get their own) and is not put in `sys.modules`.
  Anything else imports as usual. `importlib.import_module` does not see these folders: use `import`.
- relative `open()` in the notebook and in those modules reads and writes beside the notebook.
- working directory: a notebook run on its caller's thread (the top-level notebook, and
  `dbutils.notebook.run` without a timeout) moves the process's working directory to its folder and
  back at its end. A run on another thread (a DAG step, a notebook with a timeout) leaves it at its
  caller's folder, for other notebooks run at the same time: there only `import` and `open()` are
  the notebook's own.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, ModuleType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import FileDescriptorOrPath


@dataclass
class _CwdOwner:
    """The thread that moved the working directory, how deep its blocks are nested, and where it was before."""

    thread: int | None = None
    depth: int = 0
    before: str | None = None


_cwd_lock = threading.Lock()
_cwd_owner = _CwdOwner()
_code_cache: dict[tuple[str, bytes], CodeType] = {}  # (file, hash of its source) → compiled module code
_real_import = builtins.__import__
_real_open = builtins.open


def search_folders(notebook_file: str, workspace_root: str) -> list[str]:
    """The folders a notebook's imports look in: its own, the nearest above holding `.git`, the workspace root."""
    return list(_search_folders(os.path.dirname(os.path.abspath(notebook_file)), os.path.abspath(workspace_root)))


@functools.lru_cache(maxsize=1024)
def _search_folders(folder: str, workspace_root: str) -> tuple[str, ...]:  # a folder's project root is looked up once
    folders = [folder]
    here = folder
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            folders.append(here)
            break
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    folders.append(workspace_root)
    return tuple(dict.fromkeys(folders))


class NotebookImports:
    """The `__import__` and `open` of one notebook run, over the modules in its folders."""

    def __init__(self, folders: list[str]):
        self.folders = folders
        self.modules: dict[str, ModuleType] = {}  # loaded for this run, by full name
        self._lock = threading.RLock()
        self.builtins = dict(vars(builtins), __import__=self.import_, open=self.open)

    def open(self, file: FileDescriptorOrPath, *args: Any, **kwargs: Any) -> IO[Any]:
        """`open()` with a relative path resolved against the notebook's folder."""
        if isinstance(file, (str, bytes, os.PathLike)) and not os.path.isabs(file):
            folder, path = self.folders[0], os.fspath(file)
            file = os.path.join(os.fsencode(folder), path) if isinstance(path, bytes) else os.path.join(folder, path)
        opened: IO[Any] = _real_open(file, *args, **kwargs)  # text or binary, as its mode says
        return opened

    def import_(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,  # noqa: A002 - `__import__`'s names; a module's globals
        locals: Mapping[str, Any] | None = None,  # noqa: A002
        fromlist: Sequence[str] = (),
        level: int = 0,
    ) -> ModuleType:
        if level:
            package = (globals or {}).get("__package__") or ""
            if package.partition(".")[0] not in self.modules:
                return _real_import(name, globals, locals, fromlist, level)
            name = importlib.util.resolve_name("." * level + name, package)
        top = name.partition(".")[0]
        if top not in self.modules and (top in sys.modules or not self._find_top(top)):
            return _real_import(name, globals, locals, fromlist, level)
        with self._lock:
            module = self._load(name)
            for item in fromlist or ():
                if item != "*" and not hasattr(module, item) and hasattr(module, "__path__"):
                    with contextlib.suppress(ModuleNotFoundError):
                        self._load(f"{name}.{item}")
        if fromlist:
            return module
        return self.modules[top] if level == 0 else module

    def _find_top(self, name: str) -> bool:
        """Whether `name` is a module or regular package in the notebook's folders (else Python's path rules)."""
        spec = importlib.machinery.PathFinder.find_spec(name, self.folders)
        if spec is None:
            return False
        if spec.origin is None:  # only a namespace portion: a module or package elsewhere on sys.path wins
            return importlib.machinery.PathFinder.find_spec(name, sys.path) is None
        return True

    def _load(self, name: str) -> ModuleType:
        if name in self.modules:
            return self.modules[name]
        parent, _, child = name.rpartition(".")
        path = self._load(parent).__path__ if parent else self.folders
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = _FreshSourceLoader(name, spec.loader.path)
            spec.cached = None
        module = importlib.util.module_from_spec(spec)
        module.__dict__["__builtins__"] = self.builtins
        self.modules[name] = module
        assert spec.loader is not None  # module_from_spec gives a namespace package its loader
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del self.modules[name]
            raise
        if parent:
            setattr(self.modules[parent], child, module)
        return module


class _FreshSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads a module from its source (compiled once per content), never from `__pycache__`, whose
    timestamps miss an edit of the same size within the same second."""

    def get_code(self, fullname: str) -> CodeType:
        source = self.get_data(self.path)
        key = (self.path, hashlib.sha256(source).digest())
        code = _code_cache.get(key)
        if code is None:
            code = _code_cache[key] = compile(source, self.path, "exec", dont_inherit=True)
        return code


@contextlib.contextmanager
def working_directory(folder: str) -> Iterator[None]:
    """The process's working directory is `folder` within the block, if this thread may move it: the
    first thread to move it owns it until its block ends (nested notebooks on that thread move it too);
    notebooks on other threads meanwhile — DAG steps, runs with a timeout, other top-level runs — keep it."""
    me = threading.get_ident()
    with _cwd_lock:
        mine = _cwd_owner.thread in (None, me)
        if mine:
            previous = os.getcwd()
            _cwd_owner.thread, _cwd_owner.depth = me, _cwd_owner.depth + 1
            _cwd_owner.before = _cwd_owner.before or previous
            os.chdir(folder)
    if not mine:
        yield
        return
    try:
        yield
    finally:
        with _cwd_lock:
            if _cwd_owner.thread == me:  # not given up meanwhile (see `give_up_working_directory`)
                os.chdir(previous)
                if _cwd_owner.depth > 1:
                    _cwd_owner.depth -= 1
                else:
                    _given_up()


def give_up_working_directory(thread_id: int) -> None:
    """An abandoned notebook's thread (timed out, still running) no longer holds the working directory:
    it goes back to where it was before that thread moved it, and other notebooks may move it again."""
    with _cwd_lock:
        if _cwd_owner.thread == thread_id:
            assert _cwd_owner.before is not None  # set by the thread that moved it
            os.chdir(_cwd_owner.before)
            _given_up()


def _given_up() -> None:
    """No thread holds the working directory (the caller holds `_cwd_lock`)."""
    _cwd_owner.thread, _cwd_owner.depth, _cwd_owner.before = None, 0, None
