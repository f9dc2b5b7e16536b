"""Planning for export without touching anything: no Spark, no storage I/O, no `dbutils.fs` change.

An orchestration notebook's own code still runs (it declares the steps), but against stand-ins:
its `spark` refuses every use with an `ExportPlanningError` naming the notebook; every storage a flow
opens is seen through `PlannedStorage`, which resolves paths as the real one does but answers every
read as "absent" and performs no write; `dbutils.fs` reads answer "absent" and its changes are not
made; `dbutils.secrets` hands out placeholders (a step argument holding one is a secret argument,
which export refuses). What was not performed is kept in `Offline.skipped`, for the user to see.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, Self

from dtflw.errors import ExportPlanningError
from dtflw.storage.base import Storage
from dtflw.storage.tables import FileInfo, TableState, state_from_listing

if TYPE_CHECKING:
    from dtflw.local.dbutils import FileInfo as DbutilsFileInfo
    from dtflw.local.dbutils import SecretMetadata, SecretScope

SECRET_PLACEHOLDER = "[REDACTED:{scope}/{key}]"


class Offline:
    """What an export's planning did not perform, in order (`skipped`): one line each; and the stand-ins for
    exit values it handed out (`exits`: token → (flow number, step index)), with the checks made on them
    (`checks`: (step, steps declared by then))."""

    def __init__(self, declared: Callable[[], int] = lambda: 0) -> None:
        self.skipped: list[str] = []
        self.exits: dict[str, tuple[int, int]] = {}
        self.checks: list[tuple[str, int]] = []
        self._declared = declared  # how many steps the flows have declared so far
        self._lock = threading.Lock()

    def exit_value(self, flow: int, index: int, step: str) -> PlannedExitValue:
        """The stand-in for the exit value of step `index` of flow `flow`."""
        token = f"{{{{dtflw.exit.{flow}.{index}}}}}"
        self.exits[token] = (flow, index)
        return PlannedExitValue(token, step, self)

    def exit_value_checked(self, step: str) -> None:
        self.checks.append((step, self._declared()))

    def note(self, what: str) -> None:
        if (
            "/_dtflw/" in what or "/_dtflw:" in what
        ):  # dtflw's own bookkeeping (run history, keys), not the notebook's doing
            return
        with self._lock:
            if what not in self.skipped:
                self.skipped.append(what)

    def view(self, storage: Storage) -> Storage:
        """How a flow being planned for export sees `storage`."""
        return storage if isinstance(storage, PlannedStorage) else PlannedStorage(storage, self)


class OfflineEngine:
    """The engine of an export's planning: never starts; a notebook that touches `spark` fails, naming
    what it asked for."""

    name = "offline"

    def __init__(self, offline: Offline):
        self.offline = offline

    def preflight(self) -> None:
        """Nothing to check: no engine starts."""

    def new_session(self) -> OfflineSpark:
        return OfflineSpark()

    def workspace_utils(self, revealed: set[str]) -> tuple[OfflineFs, OfflineSecrets]:
        """`(dbutils.fs, dbutils.secrets)`: the workspace's, which planning never reads nor changes."""
        return OfflineFs(self.offline), OfflineSecrets(revealed)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class OfflineSpark:
    """A Spark session that refuses every use: an export runs no Spark."""

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ExportPlanningError(
            f"The orchestration notebook uses Spark (spark.{name}) while it is planned for export; an export "
            "runs no Spark and reads no table. Move that code into a step notebook, or decide it from the "
            "notebook's arguments (widgets), which become job parameters."
        )


class OfflineFs:
    """`dbutils.fs` while planning for export: reads find nothing, changes are noted and not made."""

    def __init__(self, offline: Offline):
        self._offline = offline

    def ls(self, path: str) -> list[DbutilsFileInfo]:
        self._offline.note(f"dbutils.fs.ls({path!r}): not read, taken as empty")
        return []

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803 - dbutils' name
        raise ExportPlanningError(
            f"dbutils.fs.head({path!r}) reads the workspace while the notebook is planned for export; an export "
            "reads no file. Read it in a step notebook."
        )

    def _change(self, call: str, *args: str) -> bool:
        self._offline.note(f"dbutils.fs.{call}({', '.join(repr(a) for a in args)}): not performed")
        return True

    def cp(self, source: str, destination: str, recurse: bool = False) -> bool:
        return self._change("cp", source, destination)

    def mv(self, source: str, destination: str, recurse: bool = False) -> bool:
        return self._change("mv", source, destination)

    def rm(self, path: str, recurse: bool = False) -> bool:
        return self._change("rm", path)

    def mkdirs(self, path: str) -> bool:
        return self._change("mkdirs", path)

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        return self._change("put", path)


class OfflineSecrets:
    """`dbutils.secrets` while planning for export: a placeholder per secret, never its value."""

    def __init__(self, revealed: set[str]):
        self._revealed = revealed

    def get(self, scope: str, key: str) -> str:
        value = SECRET_PLACEHOLDER.format(scope=scope, key=key)
        self._revealed.add(value)  # an argument holding it is a secret argument: refused by the export
        return value

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802 - dbutils' name
        return self.get(scope, key).encode()

    def list(self, scope: str) -> list[SecretMetadata]:
        return []

    def listScopes(self) -> builtins.list[SecretScope]:  # noqa: N802 - dbutils' name
        return []


class PlannedStorage(Storage):
    """A storage as an export's planning sees it: the real one's paths, no I/O (reads find nothing,
    writes are noted and not made)."""

    def __init__(self, real: Storage, offline: Offline):
        super().__init__(real.root_dir, None, None, real.table_format)
        self.real = real
        self._offline = offline

    @property
    def base_path(self) -> str:
        return self.real.base_path

    @property
    def url(self) -> str:
        return self.real.url

    @property
    def fs(self) -> NoReturn:
        raise ExportPlanningError(f"Storage {self.real.url} is not read while a notebook is planned for export.")

    def logical_path(self, path: str) -> str:
        return self.real.logical_path(path)

    def engine_path(self, path: str) -> str:
        """The logical path: a job's notebooks read the storage itself, never a local stand-in."""
        return self.real.logical_path(path)

    def get_abs_path(self, rel_path: str) -> str:
        return self.real.get_abs_path(rel_path)

    def resolve_foreign_input(self, path: str) -> str:
        return self.real.resolve_foreign_input(path)

    def get_path_with_file_extension(self, file_path: str, table_format: str | None = None) -> str:
        return self.real.get_path_with_file_extension(file_path, table_format)

    def table_state(self, path: str) -> TableState:
        logical = self.get_abs_path(path).rstrip("/")
        self._offline.note(f"{logical}: not read, taken as absent")
        return state_from_listing(logical, [], read_text=lambda p: None)

    def list(self, path_pattern: str, lister: Callable[[str], Iterable[object]] | None = None) -> list[str]:
        self._offline.note(f"{self.get_abs_path(path_pattern)}: not listed, taken as empty")
        return []

    def list_dir(self, path: str) -> builtins.list[FileInfo]:  # `list` is the method above
        self._offline.note(f"{self.get_abs_path(path)}: not listed, taken as empty")
        return []

    def read_text(self, path: str) -> str | None:
        self._offline.note(f"{self.get_abs_path(path)}: not read, taken as absent")
        return None

    def write_text(self, path: str, text: str) -> None:
        self._offline.note(f"{self.get_abs_path(path)}: not written")

    def delete(self, path: str) -> None:
        self._offline.note(f"{self.get_abs_path(path)}: not deleted")

    def read_table(self, path: str, table_format: str | None = None) -> NoReturn:
        raise ExportPlanningError(
            f"The orchestration notebook reads table {self.get_abs_path(path)} while it is planned for export; an "
            "export reads no table. Read it in a step notebook."
        )

    def write_table(self, df: Any, path: str, table_format: str | None = None) -> None:
        raise ExportPlanningError(
            f"The orchestration notebook writes table {self.get_abs_path(path)} while it is planned for export; an "
            "export writes nothing. Write it in a step notebook."
        )


class PlannedExitValue(str):
    """What a step's `.run()` (and a DAG step's `result`) gives while the flow is planned for export: a stand-in
    for its exit value, known only when the job runs.

    Passed on as is (in a later step's arguments, even within a longer string) it becomes a task value the job
    hands over. Computing with it cannot be exported: comparing, parsing, indexing or iterating it raises an
    `ExportPlanningError` naming the step. Its truth value is False, as an exit value kept from no earlier run
    would be; `Offline` notes the check, and `plan_export` refuses a flow that declares steps after one."""

    _step: str
    _offline: Offline

    def __new__(cls, token: str, step: str, offline: Offline) -> Self:
        value = super().__new__(cls, token)
        value._step, value._offline = step, offline
        return value

    def __bool__(self) -> bool:
        self._offline.exit_value_checked(self._step)
        return False

    def _refused(self, what: str) -> NoReturn:
        raise ExportPlanningError(
            f"The orchestration notebook uses the exit value of step '{self._step}' ({what}) while it is planned "
            "for export: in a job, a step's exit value is known only when the job runs, and dtflw exports no "
            "computation on it (no condition_task, no for_each_task over it). Pass it as is to a later step's "
            "arguments (it becomes a task value), or let that step read what it needs from a table."
        )

    __hash__ = str.__hash__


def _refusing(what: str) -> Callable[..., NoReturn]:
    def method(self: PlannedExitValue, *args: object, **kwargs: object) -> NoReturn:
        self._refused(what)

    return method


for _name, _what in {
    "__eq__": "==",
    "__ne__": "!=",
    "__lt__": "<",
    "__le__": "<=",
    "__gt__": ">",
    "__ge__": ">=",
    "__contains__": "in",
    "__iter__": "iterated",
    "__getitem__": "indexed",
    "__len__": "len()",
    "__int__": "int()",
    "__float__": "float()",
    "startswith": "json.loads or .startswith()",
    **{m: f".{m}()" for m in ("endswith", "split", "rsplit", "splitlines", "strip", "lstrip")},
    **{m: f".{m}()" for m in ("rstrip", "lower", "upper", "replace", "find", "index", "partition", "isdigit")},
    **{m: f".{m}()" for m in ("isnumeric", "isdecimal", "encode", "casefold", "count", "removeprefix")},
}.items():
    setattr(PlannedExitValue, _name, _refusing(_what))
