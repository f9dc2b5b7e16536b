"""The key of a storage's run history: arg values are recorded only as HMACs under it.

A lazy run compares the args of a step with those of its last run, so the run history keeps a hash
of each value; a secret arg must not be recoverable from it. An unsalted hash of a short or guessable
value is (a table of guesses reverses it), so each storage gets a random 256-bit key, written once
to `<root_dir>/_dtflw/key`, and values are hashed with HMAC-SHA256 under it: a guess must be tested
per storage and needs the key, which is kept where the data is. Whoever can read the storage can read
the key too: it defeats precomputed tables and comparing records across storages, not a reader of the
storage. A lost or replaced key only costs one re-run of every lazy step ("args changed").
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dtflw.storage import Storage

log = logging.getLogger("dtflw")
KEY_PATH = "_dtflw/key"
_known: dict[str, bytes] = {}
_lock = threading.Lock()


def keyed_hash(key: bytes, value: str) -> str:
    """The HMAC-SHA256 of `value` under `key`, 16 hex digits as every dtflw fingerprint."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


def storage_key(storage: Storage, create: bool = True) -> bytes:
    """The key of `storage`'s run history, created (random) on first use; read once per process.
    Without `create` (planning, which writes nothing) a storage with no key yet gets an empty one:
    it has no history recorded under a key either."""
    path = storage.get_path_in_root_dir(KEY_PATH)
    where = storage.get_abs_path(path)
    with _lock:
        key = _known.get(where)
        if key is None and not create:
            return _parse(_read(storage, path)) or b""
        if key is None:
            key = _known[where] = _read_or_create(storage, path)
        return key


def _read_or_create(storage: Storage, path: str) -> bytes:
    key = _parse(_read(storage, path))
    if key is not None:
        return key
    try:
        storage.write_text(path, secrets.token_hex(32))
        key = _parse(_read(storage, path))  # a concurrent first run may have written its own: keep that one
    except Exception as e:  # a read-only storage: hash with a key of this process (lazy runs re-run)
        log.warning("dtflw: could not write the run-history key %s: %s", path, e)
    return key if key is not None else secrets.token_bytes(32)


def _read(storage: Storage, path: str) -> str | None:
    try:
        return storage.read_text(path)
    except Exception:  # unreadable: made again
        return None


def _parse(text: str | None) -> bytes | None:
    try:
        key = bytes.fromhex((text or "").strip())
    except ValueError:
        return None
    return key if len(key) == 32 else None
