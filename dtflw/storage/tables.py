"""What a table on storage looks like: complete or not, its format, Delta version, fingerprint.

Computed from a flat listing of the table's files, so any backend that can list a prefix can
answer it without starting a Spark job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

DELTA_LOG = "_delta_log"
FORMATS = ("parquet", "delta")


@dataclass(frozen=True)
class FileInfo:
    """One file or folder on a storage, as listed (`path` is absolute on that storage)."""

    path: str
    name: str
    size: int = 0
    modification_time: int = 0  # milliseconds since the epoch, like dbutils.fs FileInfo
    is_dir: bool = False


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
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def version_label(self) -> str:
        """A short text for the version: `v3` for Delta, a fingerprint prefix for parquet."""
        if not self.exists:
            return "missing"
        if self.version is not None:
            return f"v{self.version}"
        return (self.fingerprint or "")[:12]


def _is_data_file(relative: str) -> bool:
    parts = relative.split("/")
    if any(p.startswith(("_", ".")) for p in parts):
        return False
    return not relative.endswith("/")


def state_from_listing(path: str, entries: list[FileInfo], read_text=None) -> TableState:
    """Derive a table's state from the files listed under `path` (recursively, flat).

    `read_text(abs_path) -> str` is used once to read the newest Delta commit's operation.
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
            fingerprint=_fingerprint([only]),
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
        operation = None
        if commits and commits[-1][0] == version and read_text is not None:
            operation = _delta_operation(read_text(commits[-1][1].path))
        return TableState(
            path=path,
            exists=True,
            format="delta",
            version=version,
            last_operation=operation,
            file_count=len(data),
            size_bytes=size,
            modified_ms=max(newest, max((e.modification_time for _, e in commits), default=0)),
            fingerprint=f"delta-v{version}",
        )
    if root.endswith(".delta") or any(name.startswith(DELTA_LOG + "/") for name in relative):
        return TableState(path=path, exists=False, format="delta", file_count=len(data), size_bytes=size)
    complete = bool(data) or "_SUCCESS" in relative
    return TableState(
        path=path,
        exists=complete,
        format="parquet" if complete else None,
        file_count=len(data),
        size_bytes=size,
        modified_ms=newest,
        fingerprint=_fingerprint(data) if complete else None,
    )


def _format_from_name(path: str) -> str:
    suffix = path.rsplit("/", 1)[-1].rpartition(".")[2].lower()
    return suffix or "file"


def _fingerprint(files: list[FileInfo]) -> str:
    newest = max((f.modification_time for f in files), default=0)
    summary = f"{len(files)}:{sum(f.size for f in files)}:{newest}"
    return hashlib.sha1(summary.encode()).hexdigest()[:16]


def _delta_operation(text: str | None) -> str | None:
    for line in (text or "").splitlines():
        try:
            action = json.loads(line)
        except ValueError:
            continue
        if "commitInfo" in action:
            return action["commitInfo"].get("operation")
    return None
