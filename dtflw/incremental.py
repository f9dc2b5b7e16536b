"""Incremental runs: a notebook is up to date when its outputs are complete and its fingerprint —
notebook source (with `%run` dependencies), args, and the versions of its inputs — equals the one
recorded at its last successful run. The record is a small document per notebook step under
`<root_dir>/_dtflw/state/` on the flow's storage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass

from dtflw.state_key import keyed_hash

log = logging.getLogger("dtflw")
STATE_DIR = "_dtflw/state"
NO_HISTORY = "outputs exist (no run history)"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Fingerprint:
    """What a run's result depends on. Arg values are kept only as HMACs under the storage's key
    (`dtflw.state_key`): they may be secret."""

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
        if before.source and self.source and before.source != self.source:
            reasons.append("notebook source changed")
        changed_args = sorted(k for k in set(self.args) | set(before.args) if self.args.get(k) != before.args.get(k))
        if changed_args:
            reasons.append("args changed: " + ", ".join(changed_args))
        for name in sorted(set(self.inputs) | set(before.inputs)):
            old, new = before.inputs.get(name), self.inputs.get(name)
            if old != new:
                reasons.append(f"input {name} changed {old or 'none'}→{new or 'none'}")
        return reasons


class RunHistory:
    """The fingerprints of the last successful run of each notebook step, on a storage."""

    def __init__(self, storage):
        self._storage = storage

    def _path(self, notebook_path: str, output_paths: list[str]) -> str:
        key = _hash(notebook_path + "\n" + "\n".join(sorted(output_paths)))
        return self._storage.get_path_in_root_dir(f"{STATE_DIR}/{key}.json")

    def last(self, notebook_path: str, output_paths: list[str]) -> Fingerprint | None:
        try:
            text = self._storage.read_text(self._path(notebook_path, output_paths))
            if not text:
                return None
            doc = json.loads(text)
            return Fingerprint(doc["source"], doc["args"], doc["inputs"])
        except Exception as e:  # a corrupt record only costs a re-run
            log.warning("dtflw: unreadable run history of %s: %s", notebook_path, e)
            return None

    def record(self, notebook_path: str, output_paths: list[str], fingerprint: Fingerprint, run_id: str) -> None:
        doc = {"notebook": notebook_path, "outputs": sorted(output_paths), "run_id": run_id, "at": time.time()}
        doc.update(asdict(fingerprint))
        try:
            self._storage.write_text(self._path(notebook_path, output_paths), json.dumps(doc))
        except Exception as e:  # never fail a pipeline for its bookkeeping
            log.warning("dtflw: could not record the run history of %s: %s", notebook_path, e)


def decide(output_states: dict, fingerprint: Fingerprint, last: Fingerprint | None) -> tuple[bool, str]:
    """(skip?, why) for a lazy run."""
    if not output_states:
        return False, "no outputs to check"
    missing = sorted(name for name, state in output_states.items() if not state.exists)
    if missing:
        return False, "output " + ", ".join(missing) + " missing"
    if last is None:
        return True, NO_HISTORY
    changes = fingerprint.changes_since(last)
    if changes:
        return False, "; ".join(changes)
    return True, "up to date"
