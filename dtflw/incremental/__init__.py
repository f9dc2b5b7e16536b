"""Incremental runs: a notebook is up to date when its outputs are complete and its fingerprint —
notebook source (with `%run` dependencies), args, and the versions of its inputs — equals the one
recorded at its last successful run. The record is a small document per notebook step under
`<root_dir>/_dtflw/state/` on the flow's storage, keyed by paths relative to the storage (a storage
copied or moved keeps its history). A step marks its record "started" before it writes anything,
so a run killed mid-write is never taken for a success. A record is input from outside, validated
by a schema (`dtflw.incremental.record`) before it is trusted: one that cannot be read or does not meet it
(wrong types, a status other than started/succeeded, a folder where the record should be) means
"unknown": the step runs, and says why and where.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from dtflw.incremental.key import keyed_hash

if TYPE_CHECKING:
    from dtflw.incremental.record import StartedRecord, SucceededRecord
    from dtflw.storage import Storage
    from dtflw.storage.tables import TableState

log = logging.getLogger("dtflw")
STATE_DIR = "_dtflw/state"
CURRENT_DIR = f"{STATE_DIR}/current"  # tables at explicit locations that a lazy run found up to date
NO_HISTORY = "outputs exist (no run history)"
STARTED, SUCCEEDED = "started", "succeeded"
MAX_KEPT_EXIT_VALUE = 64 * 1024  # bytes (UTF-8) of an exit value kept with the record; a larger one is not kept


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Fingerprint:
    """What a run's result depends on. Arg values are kept only as HMACs under the storage's key
    (`dtflw.incremental.key`): they may be secret."""

    source: str | None
    args: dict[str, str]
    inputs: dict[str, str]

    @classmethod
    def of(cls, source: str | None, args: dict[str, str], inputs: dict[str, str], key: bytes) -> Fingerprint:
        return cls(source, {k: keyed_hash(key, v) for k, v in sorted(args.items())}, dict(sorted(inputs.items())))

    @property
    def digest(self) -> str:
        return _hash(json.dumps(asdict(self), sort_keys=True))

    def changes_since(self, before: Fingerprint) -> list[str]:
        """Why this fingerprint differs from `before`, in words."""
        reasons = []
        if before.source is not None and self.source is not None and before.source != self.source:
            reasons.append("notebook source changed")
        changed_args = sorted(k for k in set(self.args) | set(before.args) if self.args.get(k) != before.args.get(k))
        if changed_args:
            reasons.append("args changed: " + ", ".join(changed_args))
        for name in sorted(set(self.inputs) | set(before.inputs)):
            old, new = before.inputs.get(name), self.inputs.get(name)
            if old != new:
                reasons.append(f"input {name} changed {old or 'none'}→{new or 'none'}")
        return reasons


@dataclass(frozen=True)
class UnknownHistory:
    """A run history that cannot be trusted (unreadable, or a run that did not finish): run the step."""

    reason: str


class RunHistory:
    """The fingerprints of the last successful run of each notebook step, on a storage."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def _relative(self, path: str) -> str:
        """A path relative to the storage's root folder (root_dir), else to its base path."""
        storage = self._storage
        root = storage.base_path + (storage.root_dir + "/" if storage.root_dir else "")
        for prefix in (root, storage.base_path):
            if path.startswith(prefix):
                return path[len(prefix) :]
        return path

    def _path(self, notebook_path: str, output_paths: list[str], relative: bool = True) -> str:
        outputs = [self._relative(p) for p in output_paths] if relative else output_paths
        key = _hash(notebook_path + "\n" + "\n".join(sorted(outputs)))
        return self._storage.get_path_in_root_dir(f"{STATE_DIR}/{key}.json")

    def last(self, notebook_path: str, output_paths: list[str]) -> Fingerprint | UnknownHistory | None:
        """The last successful run's fingerprint; None without a record; `UnknownHistory` if untrustworthy."""
        from dtflw.incremental.record import SucceededRecord

        record = self._read(notebook_path, output_paths)
        if record is None or isinstance(record, UnknownHistory):
            return record
        if not isinstance(record, SucceededRecord):  # started (not finished): the only other record
            since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(record.at))
            return UnknownHistory(f"its last run {record.run_id} (started {since}) did not finish")
        return Fingerprint(record.source, record.args, record.inputs)

    def exit_value(self, notebook_path: str, output_paths: list[str]) -> str | None:
        """The exit value kept at the step's last successful run, if any (always a string)."""
        from dtflw.incremental.record import SucceededRecord

        record = self._read(notebook_path, output_paths)
        return record.exit_value if isinstance(record, SucceededRecord) else None

    def _read(
        self, notebook_path: str, output_paths: list[str]
    ) -> StartedRecord | SucceededRecord | UnknownHistory | None:
        """The step's record, validated: None without one; `UnknownHistory` saying why it cannot be trusted."""
        from dtflw.incremental.record import parse_record

        path = self._path(notebook_path, output_paths)
        try:
            text = self._storage.read_text(path)
            if text is None:  # a record of dtflw before keys were relative to the storage
                path = self._path(notebook_path, output_paths, relative=False)
                text = self._storage.read_text(path)
            if text is None:
                return self._absent(self._path(notebook_path, output_paths))
            return parse_record(text)
        except Exception as e:
            where = self._storage.get_abs_path(path)
            log.warning("dtflw: unreadable run history of %s at %s: %s", notebook_path, where, e)
            return UnknownHistory(f"run history unreadable at {where} ({type(e).__name__}: {e})")

    def _absent(self, path: str) -> UnknownHistory | None:
        """None if no record is at `path`; `UnknownHistory` if a folder stands there, or a file where
        its folder should be (a record that cannot be read is never taken for no record)."""
        folder, name = path.rsplit("/", 1)
        parent, folder_name = folder.rsplit("/", 1) if "/" in folder else ("", folder)
        for where, named, want_dir in ((folder, name, False), (parent, folder_name, True)):
            for info in self._storage.list_dir(where):
                if info.name.rstrip("/") == named and info.is_dir != want_dir:
                    what = "a folder, not a record" if want_dir is False else "a file, not a folder of records"
                    at = self._storage.get_abs_path(f"{where}/{named}" if where else named)
                    return UnknownHistory(f"run history unreadable: {at} is {what}; remove it")
        return None

    def invalidate(self, notebook_path: str, output_paths: list[str], run_id: str) -> None:
        """Mark the step started, before it writes: until it succeeds, no earlier success counts."""
        if not output_paths:
            return  # a step without outputs is never skipped
        self._write(notebook_path, output_paths, {"status": STARTED, "run_id": run_id})

    def record(
        self,
        notebook_path: str,
        output_paths: list[str],
        fingerprint: Fingerprint,
        run_id: str,
        exit_value: str | None = None,
    ) -> None:
        """Keep the fingerprint of a successful run, and its exit value (scrubbed and at most
        MAX_KEPT_EXIT_VALUE bytes: the caller's job) for the runs that skip it."""
        fields = {"status": SUCCEEDED, "run_id": run_id, "exit_value": exit_value, **asdict(fingerprint)}
        self._write(notebook_path, output_paths, fields)

    def confirm_current(self, output_path: str, fingerprint: str, notebook_path: str, run_id: str) -> None:
        """Note that a lazy run of `notebook_path` found its output at `output_path` (a location given
        explicitly) up to date: the notebook that runs this one, if it declares that table as its own output
        (a nested flow), takes it as written by its run (`confirmed_since`)."""
        doc = {
            "output": self._relative(output_path),
            "fingerprint": fingerprint,
            "notebook": notebook_path,
            "run_id": run_id,
            "at": time.time(),
        }
        try:
            self._storage.write_text(self._current_path(output_path), json.dumps(doc))
        except Exception as e:  # without it, the enclosing notebook fails naming the table: never a stale pass
            log.warning("dtflw: could not record that %s is up to date: %s", output_path, e)

    def confirmed_since(self, output_path: str, fingerprint: str, since: float) -> bool:
        """True if a lazy run found the table at `output_path`, as it is now (`fingerprint`), up to date at or
        after `since` (seconds since the epoch). A confirmation that cannot be read or trusted: False."""
        from dtflw.incremental.record import parse_current

        path = self._current_path(output_path)
        try:
            text = self._storage.read_text(path)
            found = parse_current(text) if text is not None else None
        except Exception as e:
            log.warning("dtflw: untrusted confirmation at %s: %s", self._storage.get_abs_path(path), e)
            return False
        return (
            found is not None
            and found.output == self._relative(output_path)
            and found.fingerprint == fingerprint
            and found.at >= since
        )

    def _current_path(self, output_path: str) -> str:
        return self._storage.get_path_in_root_dir(f"{CURRENT_DIR}/{_hash(self._relative(output_path))}.json")

    def _write(self, notebook_path: str, output_paths: list[str], fields: dict[str, Any]) -> None:
        outputs = sorted(self._relative(p) for p in output_paths)
        doc = {"notebook": notebook_path, "outputs": outputs, "at": time.time(), **fields}
        path = self._path(notebook_path, output_paths)
        try:
            self._storage.write_text(path, json.dumps(doc))
        except Exception as e:  # never fail a pipeline for its bookkeeping, but never leave a stale success
            log.warning("dtflw: could not record the run history of %s: %s", notebook_path, e)
            try:
                self._storage.delete(path)
            except Exception as again:
                log.warning("dtflw: could not remove the run history of %s either: %s", notebook_path, again)


def decide(
    output_states: Mapping[str, TableState], fingerprint: Fingerprint, last: Fingerprint | UnknownHistory | None
) -> tuple[bool, str]:
    """(skip?, why) for a lazy run."""
    if not output_states:
        return False, "no outputs to check"
    missing = sorted(name for name, state in output_states.items() if not state.exists)
    if missing:
        incomplete = [f"output {n} incomplete: {output_states[n].problem}" for n in missing if output_states[n].problem]
        absent = [n for n in missing if not output_states[n].problem]
        return False, "; ".join(incomplete + (["output " + ", ".join(absent) + " missing"] if absent else []))
    if isinstance(last, UnknownHistory):
        return False, last.reason
    if last is None:
        return True, NO_HISTORY
    changes = fingerprint.changes_since(last)
    if changes:
        return False, "; ".join(changes)
    return True, "up to date"
