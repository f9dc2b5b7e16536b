"""A local `dbutils`: widgets, notebook run/exit and context, fs, secrets — per notebook run."""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from dtflw.errors import ArgumentError, DtflwError, ExitValueTooLargeError, NamespacePathError
from dtflw.local.namespaces import WorkspaceNamespaces
from dtflw.local.secret_store import SECRETS_FILE_OPTION, read_secrets_file
from dtflw.local.task_values import Jobs, TaskValues, TaskValueStore

if TYPE_CHECKING:
    from dtflw.core.runner import Runner

# the most of an exit value Databricks returns to the caller (Jobs API runs/get-output: "the first 5 MB")
MAX_EXIT_VALUE_BYTES = 5 * 1024 * 1024


class NotebookExit(BaseException):  # noqa: N818 - like Databricks, not an error; escapes `except Exception`
    """Raised by `dbutils.notebook.exit(value)` to end the notebook."""

    def __init__(self, value: str):
        super().__init__(value)
        self.value = value


class WidgetNotDefinedError(DtflwError, KeyError):
    """`dbutils.widgets.get` of a widget that was neither defined nor passed."""


class SecretNotFoundError(DtflwError, KeyError):
    """A secret scope/key has no value in the environment or the secrets file."""

    def __str__(self) -> str:  # the message as written (a KeyError shows its repr)
        return str(self.args[0]) if self.args else ""


class LocalFsError(DtflwError, FileNotFoundError):
    """A `dbutils.fs` path does not exist (message contains java.io.FileNotFoundException, like on a cluster)."""


@dataclass
class _Widget:
    kind: str
    default: str
    label: str
    choices: tuple[str, ...] = ()


class Widgets:
    """Widgets of one run: passed arguments override defaults and survive `removeAll`. It remembers which
    were passed and which the notebook declared or read, for `dtflw.core.widget_names`."""

    def __init__(self, arguments: dict[str, str]):
        self._arguments = dict(arguments)
        self._widgets: dict[str, _Widget] = {}
        self._passed = frozenset(arguments)
        self._asked: set[str] = set()  # declared (text, dropdown…) or read (get, getArgument, getAll)

    def passed_names(self) -> frozenset[str]:
        """The widgets passed to this run (its caller's arguments), not those `%run` adds."""
        return self._passed

    def asked_names(self) -> frozenset[str]:
        """The widgets the notebook declared or read so far (`getAll` reads every one)."""
        return frozenset(self._asked)

    def _define(
        self, kind: str, name: str, default_value: str, choices: Iterable[str] = (), label: str | None = None
    ) -> None:
        options = tuple(str(c) for c in choices)
        values = str(default_value).split(",") if kind == "multiselect" else [str(default_value)]
        if kind in ("dropdown", "multiselect") and any(v not in options for v in values if v):
            raise ArgumentError(
                f"Default {default_value!r} of widget '{name}' is not among its choices {list(options)}."
            )
        self._asked.add(name)
        if name not in self._widgets:
            self._widgets[name] = _Widget(kind, str(default_value), label or name, options)

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:  # noqa: N803 - dbutils' names
        self._define("text", name, defaultValue, label=label)

    def dropdown(self, name: str, defaultValue: str, choices: Iterable[str], label: str | None = None) -> None:  # noqa: N803
        self._define("dropdown", name, defaultValue, choices, label)

    def combobox(self, name: str, defaultValue: str, choices: Iterable[str], label: str | None = None) -> None:  # noqa: N803
        self._define("combobox", name, defaultValue, choices, label)

    def multiselect(self, name: str, defaultValue: str, choices: Iterable[str], label: str | None = None) -> None:  # noqa: N803
        self._define("multiselect", name, defaultValue, choices, label)

    def get(self, name: str) -> str:
        self._asked.add(name)
        if name in self._arguments:
            return self._arguments[name]
        if name in self._widgets:
            return self._widgets[name].default
        import difflib  # an error's hint only

        close = difflib.get_close_matches(name, sorted(self._passed - self._asked), n=1)
        hint = f' (an argument "{close[0]}" was passed: did you mean "{name}"?)' if close else ""
        raise WidgetNotDefinedError(
            f"No input widget named '{name}' is defined{hint}; define it with dbutils.widgets.text."
        )

    def getArgument(self, name: str, optional: str | None = None) -> str | None:  # noqa: N802 - dbutils' name
        try:
            return self.get(name)
        except WidgetNotDefinedError:
            return optional

    def getAll(self) -> dict[str, str]:  # noqa: N802 - dbutils' name
        values = self.all_values()
        self._asked.update(values)
        return values

    def all_values(self) -> dict[str, str]:
        """Every widget's value, as `getAll` gives them, without counting them as read."""
        values = {name: w.default for name, w in self._widgets.items()}
        values.update(self._arguments)
        return values

    @contextlib.contextmanager
    def arguments_added(self, arguments: dict[str, str]) -> Iterator[None]:
        """Within the block, `arguments` are passed too (for `%run ./x $a=1`)."""
        saved = dict(self._arguments)
        self._arguments.update(arguments)
        try:
            yield
        finally:
            self._arguments = saved

    def remove(self, name: str) -> None:
        self._widgets.pop(name, None)

    def removeAll(self) -> None:  # noqa: N802 - dbutils' name
        self._widgets.clear()


class _Option:
    """Scala's `Option[String]`, as the notebook context answers."""

    def __init__(self, value: str | None):
        self._value = value

    def get(self) -> str:
        if self._value is None:
            raise KeyError("None.get")
        return self._value

    def isDefined(self) -> bool:  # noqa: N802 - Scala's name
        return self._value is not None


class _Tags:
    def __init__(self, tags: dict[str, str]):
        self._tags = tags

    def apply(self, key: str) -> str:
        if key not in self._tags:
            raise KeyError(f"java.util.NoSuchElementException: key not found: {key}")
        return self._tags[key]

    def get(self, key: str) -> _Option:
        return _Option(self._tags.get(key))


class NotebookContext:
    """What `getContext()` answers: the notebook's path and its tags (user, jobType)."""

    def __init__(self, notebook_path: str, tags: dict[str, str]):
        self._path = notebook_path
        self._tags = _Tags(tags)

    def notebookPath(self) -> _Option:  # noqa: N802 - Databricks' name
        return _Option(self._path)

    def tags(self) -> _Tags:
        return self._tags


class _EntryPoint:
    """`dbutils.notebook.entry_point.getDbutils().notebook().getContext()`."""

    def __init__(self, context: NotebookContext):
        self._context = context

    def getDbutils(self) -> _EntryPoint:  # noqa: N802 - Databricks' name
        return self

    def notebook(self) -> _EntryPoint:
        return self

    def getContext(self) -> NotebookContext:  # noqa: N802 - Databricks' name
        return self._context


class NotebookUtils:
    """`dbutils.notebook`: run other notebooks, exit, and the context of this one."""

    def __init__(self, runner: Runner, context: NotebookContext):
        self._runner = runner
        self.entry_point = _EntryPoint(context)

    def run(self, path: str, timeout_seconds: int = 0, arguments: dict[str, str] | None = None) -> str | None:
        arguments = arguments or {}
        bad = {k: v for k, v in arguments.items() if not isinstance(k, str) or not isinstance(v, str)}
        if bad:
            raise ArgumentError(f"dbutils.notebook.run('{path}'): arguments must be strings, got {bad!r}.")
        return self._runner.run(path, timeout_seconds, arguments)

    def exit(self, value: object) -> NoReturn:
        """End the notebook with `value`; one over `MAX_EXIT_VALUE_BYTES` (UTF-8) is an error, as on Databricks."""
        text = str(value)
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_EXIT_VALUE_BYTES:
            notebook = self.entry_point.getContext().notebookPath().get()
            raise ExitValueTooLargeError(
                f"Notebook '{notebook}' exits with a value of {size} bytes, over the {MAX_EXIT_VALUE_BYTES} bytes "
                "(5 MB) Databricks returns to its caller. Write large results to a table and exit with its path.",
                notebook_path=notebook,
            )
        raise NotebookExit(text)


class FileInfo(NamedTuple):
    """What `dbutils.fs.ls` returns: a named tuple, as on Databricks (`path, name, size, mtime = info`)."""

    path: str
    name: str
    size: int
    modificationTime: int  # noqa: N815 - Databricks' name


DBFS_ROOT_FOLDERS = ("FileStore", "mnt", "tmp", "user")
"""Folders of the DBFS root that always exist on Databricks; locally made when first looked at."""


class LocalFs:
    """`dbutils.fs` over local folders: `dbfs:/` (and a bare `/x`), `/Volumes/`, `file:/` (`file:/Workspace/…`
    is the workspace root), as `namespaces` maps them."""

    def __init__(
        self, dbfs_folder: str, volumes_folder: str | None = None, *, namespaces: WorkspaceNamespaces | None = None
    ):
        self._namespaces = namespaces or WorkspaceNamespaces.of(dbfs_folder, volumes_folder)
        self._dbfs = self._namespaces.dbfs_root.rstrip("/")

    def local_path(self, path: str) -> str:
        """The local file behind a dbutils path; a path without a scheme is on the DBFS, as on Databricks."""
        given = (
            path
            if path.startswith(("dbfs:", "file:", "/Volumes/")) or path == "/Volumes"
            else "dbfs:/" + path.lstrip("/")
        )
        local = self._namespaces.local_path(given)
        if local is None:  # `file:x`: Hadoop refuses a relative path in a URI
            raise NamespacePathError(
                f"java.net.URISyntaxException: Relative path in absolute URI: {path}; write file:/ and an absolute path."
            )
        return local

    def _dbfs_path(self, local: str, original: str) -> str:
        if original.startswith(("file:", "/Volumes", "dbfs:/Volumes")):
            return original.rstrip("/")
        return "dbfs:/" + os.path.relpath(local, self._dbfs).replace(os.sep, "/").lstrip("./")

    def _existing(self, path: str) -> str:
        local = self.local_path(path)
        if local.rstrip("/") == self._dbfs or os.path.relpath(local, self._dbfs) in DBFS_ROOT_FOLDERS:
            for folder in DBFS_ROOT_FOLDERS:
                os.makedirs(os.path.join(self._dbfs, folder), exist_ok=True)
        if not os.path.exists(local):
            raise LocalFsError(f"java.io.FileNotFoundException: {path} (local {local})")
        return local

    def ls(self, path: str) -> list[FileInfo]:
        local = self._existing(path)
        names = sorted(os.listdir(local)) if os.path.isdir(local) else [None]
        infos = []
        for name in names:
            item = os.path.join(local, name) if name else local
            stat = os.stat(item)
            is_dir = os.path.isdir(item)
            shown = self._dbfs_path(local, path).rstrip("/") + ("/" + name if name else "")
            infos.append(
                FileInfo(
                    path=shown + ("/" if is_dir else ""),
                    name=os.path.basename(item) + ("/" if is_dir else ""),
                    size=0 if is_dir else stat.st_size,
                    modificationTime=int(stat.st_mtime * 1000),
                )
            )
        return infos

    def mkdirs(self, path: str) -> bool:
        os.makedirs(self.local_path(path), exist_ok=True)
        return True

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        local = self.local_path(path)
        if os.path.exists(local) and not overwrite:
            raise DtflwError(f"dbutils.fs.put: {path} exists; pass overwrite=True to replace it.")
        os.makedirs(os.path.dirname(local), exist_ok=True)
        with open(local, "w", encoding="utf-8") as f:
            f.write(contents)
        return True

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803 - dbutils' name
        with open(self._existing(path), "rb") as f:
            return f.read(maxBytes).decode("utf-8", errors="replace")

    def cp(self, source: str, dest: str, recurse: bool = False) -> bool:
        src, dst = self._existing(source), self.local_path(dest)
        if os.path.isdir(src):
            if not recurse:
                raise DtflwError(f"dbutils.fs.cp: {source} is a directory; pass recurse=True.")
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
            shutil.copy2(src, dst)
        return True

    def mv(self, source: str, dest: str, recurse: bool = False) -> bool:
        src, dst = self._existing(source), self.local_path(dest)
        os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
        shutil.move(src, dst)
        return True

    def rm(self, path: str, recurse: bool = False) -> bool:
        local = self.local_path(path)
        if os.path.isdir(local):
            if not recurse:
                raise DtflwError(f"dbutils.fs.rm: {path} is a directory; pass recurse=True.")
            shutil.rmtree(local)
            return True
        if os.path.exists(local):
            os.unlink(local)
            return True
        return False


class SecretMetadata(NamedTuple):
    """What `dbutils.secrets.list` returns: a named tuple, as on Databricks."""

    key: str


class SecretScope(NamedTuple):
    """What `dbutils.secrets.listScopes` returns: a named tuple, as on Databricks."""

    name: str


SECRET_VARIABLE_PREFIX = "DTFLW_SECRET_"


class Secrets:
    """`dbutils.secrets` from `DTFLW_SECRET_<SCOPE>_<KEY>` variables or a JSON file {scope: {key: value}}.

    Every value read is added to `revealed`, so dtflw redacts it from logs, lineage and reports.
    """

    def __init__(self, environ: dict[str, str], secrets_file: str | None, revealed: set[str]):
        self._environ = environ
        self._file = secrets_file
        self._revealed = revealed

    @staticmethod
    def env_name(scope: str, key: str) -> str:
        return SECRET_VARIABLE_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", f"{scope}_{key}").upper()

    def _from_file(self) -> dict[str, dict[str, str]]:
        return read_secrets_file(self._file)

    def get(self, scope: str, key: str) -> str:
        value = self._environ.get(self.env_name(scope, key))
        if value is None:
            value = self._from_file().get(scope, {}).get(key)
        if value is None:
            where = f"the file given with {SECRETS_FILE_OPTION} ({self._file})" if self._file else SECRETS_FILE_OPTION
            raise SecretNotFoundError(
                f"Secret '{key}' of scope '{scope}' not found; set ${self.env_name(scope, key)} or add it to {where} "
                '(JSON {"scope": {"key": "value"}}).'
            )
        self._revealed.add(value)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802 - dbutils' name
        return self.get(scope, key).encode()

    def list(self, scope: str) -> list[SecretMetadata]:
        prefix = self.env_name(scope, "")
        keys = {name[len(prefix) :].lower() for name in self._environ if name.startswith(prefix)}
        keys |= set(self._from_file().get(scope, {}))
        return [SecretMetadata(k) for k in sorted(keys)]

    def listScopes(self) -> builtins.list[SecretScope]:  # noqa: N802 - dbutils' name
        return [SecretScope(s) for s in sorted(self._from_file())]


class LocalDbutils:
    """The `dbutils` of one locally executed notebook run."""

    lists_cloud_storage = False  # its `fs` maps dbfs:/ and /Volumes to folders; it cannot list Azure

    def __init__(
        self, widgets: Widgets, notebook: NotebookUtils, fs: LocalFs, secrets: Secrets, jobs: Jobs | None = None
    ):
        self.widgets = widgets
        self.notebook = notebook
        self.fs = fs
        self.secrets = secrets
        self.jobs = jobs or Jobs(TaskValues(TaskValueStore(), None))
