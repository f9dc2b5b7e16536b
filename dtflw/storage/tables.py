"""What a table on storage looks like: complete or not, its format, Delta version, fingerprint.

Computed from a flat listing of the table's files, so any backend that can list a prefix can
answer it without starting a Spark job. A table whose last write did not finish is not complete:
files an engine is still writing (Sail's `name#1`, Spark's `_temporary/`, `.tmp`, `_started_*`)
never count, a parquet data file must end with its footer magic `PAR1` (checked when the backend
can read a file's tail), and a Delta table's newest commit must parse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from dtflw.errors import IncompleteTableError, OverlappingOutputsError

DELTA_LOG = "_delta_log"
FORMATS = ("parquet", "delta")
TABLE_PREFIX = "uc:"  # a Unity Catalog table where a path would be: uc:<catalog>.<schema>.<table>
PARQUET_MAGIC = b"PAR1"
# suffixes of files an engine has not finished: Spark's `.tmp`/`.crc`, Hadoop's `.inprogress`
UNFINISHED_SUFFIXES = (".tmp", ".crc", ".inprogress")

ReadText = Callable[[str], str | None]  # a file's text by absolute path, None if it is not there
ReadTail = Callable[[str, int], bytes | None]  # the last n bytes of a file by absolute path (None: not there)
_Owner = TypeVar("_Owner")


@dataclass(frozen=True)
class FileInfo:
    """One file or folder on a storage, as listed (`path` is absolute on that storage)."""

    path: str
    name: str
    size: int = 0
    modification_time: int = 0  # milliseconds since the epoch, like dbutils.fs FileInfo
    is_dir: bool = False
    etag: str = ""  # changes whenever the file is written, where the backend tells (a blob's ETag)


@dataclass(frozen=True)
class TableState:
    """A table as seen at one moment. `exists` means complete: data files or a Delta commit."""

    path: str
    exists: bool
    format: str | None = None
    version: int | None = None
    last_operation: str | None = None
    file_count: int = 0
    size_bytes: int = 0
    modified_ms: int = 0
    fingerprint: str | None = None
    table_id: str | None = None  # a Delta table's `metaData.id`: new when the table is created again
    problem: str | None = None  # why files that are there do not make a complete table
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def version_label(self) -> str:
        """A short text for the version: `v3` for Delta, a fingerprint prefix for parquet."""
        if not self.exists:
            return "missing"
        if self.version is not None:
            return f"v{self.version}"
        return (self.fingerprint or "")[:12]

    @property
    def identity(self) -> str:
        """What a consumer's run depends on: `v3 of <table id>` for Delta, the fingerprint for parquet."""
        if self.exists and self.version is not None and self.table_id:
            return f"v{self.version} of {self.table_id}"
        return self.version_label


class NestedPaths(Generic[_Owner]):
    """Table paths claimed so far, to find in O(depth) one lying inside another (or holding it)."""

    def __init__(self) -> None:
        self._paths: dict[str, _Owner] = {}
        self._folders: dict[str, _Owner] = {}  # every parent folder of a claimed path → its owner

    def find(self, path: str) -> _Owner | None:
        """The owner of a claimed path that lies inside `path` or holds it (not an equal one), or None."""
        parts = path.rstrip("/").split("/")
        inner = self._folders.get("/".join(parts))
        if inner is not None:
            return inner
        return next((o for i in range(1, len(parts)) if (o := self._paths.get("/".join(parts[:i]))) is not None), None)

    def claim(self, path: str, owner: _Owner) -> None:
        parts = path.rstrip("/").split("/")
        self._paths["/".join(parts)] = owner
        for i in range(1, len(parts)):
            self._folders.setdefault("/".join(parts[:i]), owner)


def nested(path: str, other: str) -> bool:
    """True if two table paths are equal or one lies inside the other."""
    path, other = path.rstrip("/") + "/", other.rstrip("/") + "/"
    return path.startswith(other) or other.startswith(path)


class OutputPath(Protocol):
    """A step's output as these checks see it: where it is written."""

    @property
    def abs_file_path(self) -> str: ...


def check_apart(notebook: str, name: str, path: str, outputs: Mapping[str, OutputPath]) -> None:
    """Raise if output `name` at `path` lies inside, holds or equals another of a step's `outputs`."""
    for other, table in outputs.items():
        if other != name and nested(path, table.abs_file_path):
            raise OverlappingOutputsError(
                f"Outputs '{name}' at '{path}' and '{other}' at '{table.abs_file_path}' of notebook '{notebook}' "
                "overlap: one lies inside the other (or at its path), so writing one deletes the other. "
                "Give them separate paths."
            )


def check_writable(notebook: str, outputs: Mapping[str, OutputPath], states: Mapping[str, TableState]) -> None:
    """Raise if an output is a Delta table whose log the engine cannot read, so it cannot write it either."""
    for name, state in states.items():
        if state.format == "delta" and state.problem:
            raise IncompleteTableError(
                f"Output '{name}' of notebook '{notebook}' at '{outputs[name].abs_file_path}' is incomplete: "
                f"{state.problem}. Remove that commit file to return to the version before it, or remove the "
                "table to write it anew; then run again."
            )


def catalog_fingerprint(table_id: str, version: int | None) -> str:
    """The fingerprint of a Unity Catalog table: its catalog id and Delta version (a table dropped and created
    again is a new table)."""
    return f"uc-{table_id}-v{version}"


def written_between(before: TableState | None, after: TableState) -> bool:
    """True if the table was written (created, or given a new version) between two states of it: a Delta
    table has a new version or table id, a parquet table or file changed files (names, sizes, times)."""
    if not after.exists:
        return False
    return before is None or not before.exists or after.fingerprint != before.fingerprint


def _is_data_file(relative: str) -> bool:
    parts = relative.split("/")
    if any(p.startswith(("_", ".")) for p in parts):
        return False
    if "#" in parts[-1] or parts[-1].endswith(UNFINISHED_SUFFIXES):  # Sail writes `name#1`, then renames
        return False
    return not relative.endswith("/")


def state_from_listing(
    path: str, entries: list[FileInfo], read_text: ReadText | None = None, read_tail: ReadTail | None = None
) -> TableState:
    """Derive a table's state from the files listed under `path` (recursively, flat).

    `read_text(abs_path) -> str` reads the newest Delta commit (operation, whether it parses, table
    id); `read_tail(abs_path, n) -> bytes` checks that each parquet data file ends with its footer.
    """
    root = path.rstrip("/")
    files = [e for e in entries if not e.is_dir]
    if not entries:
        return TableState(path=path, exists=False)
    if len(files) == 1 and files[0].path.rstrip("/") == root:
        only = files[0]
        return TableState(
            path=path,
            exists=True,
            format=_format_from_name(root),
            file_count=1,
            size_bytes=only.size,
            modified_ms=only.modification_time,
            fingerprint=_fingerprint([only], root),
        )
    relative = {e.path[len(root) + 1 :]: e for e in files if e.path.startswith(root + "/")}
    commits = sorted(
        (int(name.split("/")[1][:20]), e)
        for name, e in relative.items()
        if name.startswith(DELTA_LOG + "/") and name.endswith(".json") and name.split("/")[1][:20].isdigit()
    )
    checkpoints = [
        int(name.split("/")[1][:20])
        for name in relative
        if name.startswith(DELTA_LOG + "/") and ".checkpoint" in name and name.split("/")[1][:20].isdigit()
    ]
    data = [e for name, e in relative.items() if _is_data_file(name)]
    size = sum(e.size for e in data)
    newest = max((e.modification_time for e in data), default=0)
    if commits or checkpoints:
        version = max([v for v, _ in commits] + checkpoints)
        newest = max(newest, max((e.modification_time for _, e in commits), default=0))
        return _delta_state(path, version, commits, read_text, len(data), size, newest)
    if root.endswith(".delta") or any(name.startswith(DELTA_LOG + "/") for name in relative):
        return TableState(path=path, exists=False, format="delta", file_count=len(data), size_bytes=size)
    problem = _unfinished_parquet(data, read_tail)
    complete = (bool(data) or "_SUCCESS" in relative) and problem is None
    return TableState(
        path=path,
        exists=complete,
        format="parquet" if complete else None,
        file_count=len(data),
        size_bytes=size,
        modified_ms=newest,
        # a table of no data files is its `_SUCCESS` marker: written again, it changes too
        fingerprint=_fingerprint(data or [relative["_SUCCESS"]], root) if complete else None,
        problem=problem,
    )


def _delta_state(
    path: str,
    version: int,
    commits: list[tuple[int, FileInfo]],
    read_text: ReadText | None,
    file_count: int,
    size: int,
    newest: int,
) -> TableState:
    """The state of a Delta table at `version`, its newest commit (if it is listed in `commits`, (version,
    entry) pairs in order) read for the operation and the table id (from the first commit if needed)."""
    operation = table_id = problem = None
    if commits and commits[-1][0] == version and read_text is not None:
        actions = _delta_actions(read_text(commits[-1][1].path))
        if actions is None:
            problem = f"its newest Delta commit {commits[-1][1].name} is not complete JSON (a write did not finish)"
        else:
            operation = _commit_info(actions).get("operation")
            table_id = _table_id(actions)
            if table_id is None and len(commits) > 1:
                table_id = _table_id(_delta_actions(read_text(commits[0][1].path)) or [])
    return TableState(
        path=path,
        exists=problem is None,
        format="delta",
        version=version,
        last_operation=operation,
        file_count=file_count,
        size_bytes=size,
        modified_ms=newest,
        fingerprint=f"delta-{table_id}-v{version}" if table_id else f"delta-v{version}",
        table_id=table_id,
        problem=problem,
    )


def _unfinished_parquet(data: list[FileInfo], read_tail: ReadTail | None) -> str | None:
    """Why the parquet data files do not make a finished table (None if they do, or cannot be read)."""
    if read_tail is None:
        return None
    for info in data:
        if info.name.endswith(".parquet") and (info.size < 12 or read_tail(info.path, 4) != PARQUET_MAGIC):
            return f"data file {info.name} has no parquet footer (its write did not finish)"
    return None


def _format_from_name(path: str) -> str:
    suffix = path.rsplit("/", 1)[-1].rpartition(".")[2].lower()
    return suffix or "file"


def _fingerprint(files: list[FileInfo], root: str) -> str:
    """Changes whenever a file does: its path in the table, size, modification time or ETag (a blob's
    time has whole seconds: a file written again within one is told by its ETag)."""
    summary = "\n".join(
        sorted(
            f"{f.path[len(root) + 1 :] or f.name}:{f.size}:{f.modification_time}" + (f":{f.etag}" if f.etag else "")
            for f in files
        )
    )
    return hashlib.sha1(summary.encode()).hexdigest()[:16]


def _delta_actions(text: str | None) -> list[dict[str, Any]] | None:
    """The actions of a Delta commit file; None if a line is not JSON (a commit cut short)."""
    try:
        return [json.loads(line) for line in (text or "").splitlines() if line.strip()]
    except ValueError:
        return None


def _commit_info(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return next((a["commitInfo"] for a in actions if isinstance(a.get("commitInfo"), dict)), {})


def _table_id(actions: list[dict[str, Any]]) -> str | None:
    return next((a["metaData"].get("id") for a in actions if isinstance(a.get("metaData"), dict)), None)
