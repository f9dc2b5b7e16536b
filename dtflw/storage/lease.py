"""A lease per storage: one `dtflw run` writes a storage at a time.

A run takes the lease of a storage the first time one of its flows opens it (`init_flow`, whether
the storage came from `--storage` or from the notebook) and holds it until the run ends
(`RunLeases`); a storage this run already holds is taken again at once (nested notebooks, DAG steps).

Two runs writing the same tables at once fail with misleading errors (a table read while the other
run rewrites it, Delta commits that conflict). The run holding the lease is named to the one that
waits: host, pid, run id and since when. A holder that died gives the lease up by itself:

- a folder storage: a lock file `<root_dir>/_dtflw/lease` held with `fcntl.flock`; the kernel
  releases the lock when the holding process ends, however it ends (kill -9 included);
- Azure: a blob lease on that blob, renewed by a thread while the run lasts; the lease of a run
  that died expires `LEASE_SECONDS` after its last renewal;
- S3 and GCS: that object, written only if absent (S3 `If-None-Match: *`, GCS generation 0) with the
  holder and an expiry time, renewed by a thread with conditional rewrites (`If-Match` its ETag, its
  generation); an expired one is taken over by one conditional rewrite, so of two runs only one wins.

Other storages (`dbfs:/` and Volumes through `dbutils.fs` on a cluster) have no lease.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from dtflw.errors import StorageBusyError, StorageLeaseError

if TYPE_CHECKING:
    from azure.storage.blob import BlobLeaseClient, ContainerClient

    from dtflw.storage.base import Storage
    from dtflw.storage.filesystems import ConditionalCreating

LEASE_FILE = "_dtflw/lease"
LEASE_SECONDS = 15  # Azure's shortest lease: how long a dead holder keeps the storage
POLL_SECONDS = 0.2
MAX_SINCE = 32503680000.0  # the year 3000: a lease file naming a later (or no finite) time is not a holder's


@dataclass(frozen=True)
class Holder:
    """Who holds a storage's lease."""

    host: str
    pid: int
    run_id: str
    since: float

    @classmethod
    def me(cls, run_id: str) -> Holder:
        return cls(_host_name(), os.getpid(), run_id, time.time())

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return f"run {self.run_id} (pid {self.pid} on {self.host}, since {since})"

    @classmethod
    def parse(cls, fields: Mapping[str, Any]) -> Holder | None:
        try:
            holder = cls(str(fields["host"]), int(fields["pid"]), str(fields["run_id"]), float(fields["since"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
        return holder if 0 <= holder.since < MAX_SINCE else None  # a time a lease can have been taken at


def _host_name() -> str:
    """This machine's name, as `socket.gethostname()` says (without importing socket where `os.uname` says it)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


class Lease:
    """Exclusive use of a storage for one run: `with lease_for(storage, run_id).held(wait=30): ...`."""

    def __init__(self, where: str, run_id: str):
        self.where = where
        self.holder = Holder.me(run_id)
        self.abandoned: Holder | None = None  # a holder that died with the lease: found when taking it

    @property
    def key(self) -> str:
        """What the lease locks, the same for every storage object naming it."""
        raise NotImplementedError

    def held(self, wait: float = 0.0) -> Lease:
        """Take the lease, waiting up to `wait` seconds for another run to give it up."""
        deadline = time.monotonic() + wait
        while True:
            other = self._try_acquire()
            if other is None:
                return self
            if time.monotonic() >= deadline:
                raise StorageBusyError(
                    f"Storage {self.where} is in use by "
                    f"{other.describe() if isinstance(other, Holder) else 'another run (holder unknown)'}. "
                    "Wait for it to end, or pass --wait-for-storage SECONDS to wait; a run that died gives "
                    f"the storage up by itself (at once on this machine, after {LEASE_SECONDS} s on a cloud storage)."
                )
            time.sleep(POLL_SECONDS)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _try_acquire(self) -> Holder | bool | None:
        """None when taken; else the holder (True if it cannot be told)."""
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class FileLease(Lease):
    """A lock file held with `flock`: released by the kernel when the holding process ends."""

    def __init__(self, path: str, where: str, run_id: str):
        super().__init__(where, run_id)
        self._path = path
        self._fd: int | None = None

    @property
    def key(self) -> str:
        return os.path.realpath(self._path)

    def _open(self) -> int:
        try:
            os.makedirs(os.path.dirname(self._path), exist_ok=True)
            return os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            kind = "a folder" if os.path.isdir(self._path) else f"unusable ({e.strerror or e})"
            raise StorageLeaseError(
                f"The lease of storage {self.where} cannot be taken: {self._path} is {kind}. It must be a file "
                "that dtflw creates: remove what stands in its place (no run keeps anything there)."
            ) from None

    def _try_acquire(self) -> Holder | bool | None:
        import fcntl

        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
            os.close(fd)
            return _parsed(text) or True  # unknown: the holder is just writing its name
        self.abandoned = _parsed(os.pread(fd, 4096, 0).decode("utf-8", "replace"))  # a release empties it
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(self.holder)).encode(), 0)
        self._fd = fd
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


class BlobLease(Lease):
    """An Azure blob lease on the lease blob, renewed every `LEASE_SECONDS / 3` seconds."""

    def __init__(self, container_client: ContainerClient, blob_name: str, where: str, run_id: str):
        super().__init__(where, run_id)
        self._blob = container_client.get_blob_client(blob_name)
        self._lease: BlobLeaseClient | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def key(self) -> str:
        return self._blob.url.split("?", 1)[0]

    def _try_acquire(self) -> Holder | bool | None:
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        try:
            self._blob.upload_blob(b"", overwrite=False)
        except (ResourceExistsError, HttpResponseError):
            pass  # it exists (leased or not)
        try:
            self._lease = self._blob.acquire_lease(lease_duration=LEASE_SECONDS)
        except HttpResponseError as e:
            if e.status_code != 409:
                raise
            metadata = self._blob.get_blob_properties().metadata or {}
            return Holder.parse(metadata) or True
        self.abandoned = Holder.parse(self._blob.get_blob_properties().metadata or {})  # a release empties it
        self._blob.set_blob_metadata({k: str(v) for k, v in asdict(self.holder).items()}, lease=self._lease)
        self._renewer = threading.Thread(target=self._renew, name=f"dtflw lease {self.where}", daemon=True)
        self._renewer.start()
        return None

    def _renew(self) -> None:
        assert self._lease is not None  # acquired before the renewer starts, dropped after it stopped
        while not self._stop.wait(LEASE_SECONDS / 3):
            try:
                self._lease.renew()
            except Exception:  # a missed renewal is retried; the lease lasts LEASE_SECONDS
                continue

    def release(self) -> None:
        if self._lease is None:
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self._blob.set_blob_metadata({}, lease=self._lease)
            self._lease.release()
        finally:
            self._lease = None


class ObjectLease(Lease):
    """A lease object on S3 or GCS, created only if absent and renewed by conditional rewrites."""

    def __init__(self, fs: ConditionalCreating, path: str, where: str, run_id: str):
        super().__init__(where, run_id)
        self._fs = fs
        self._path = path
        self._token: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def key(self) -> str:
        return f"{type(self._fs).__name__}:{self._path}"

    def _document(self) -> str:
        return json.dumps({**asdict(self.holder), "expires": time.time() + LEASE_SECONDS})

    def _try_acquire(self) -> Holder | bool | None:
        token = self._fs.create_if_absent(self._path, self._document())
        if token is None:
            found = self._fs.read_versioned(self._path)
            if found is None:  # given up meanwhile: try again
                return True
            text, version = found
            holder, expires = _parse_lease(text)
            if holder is not None and expires > time.time() and holder != self.holder:
                return holder
            token = self._fs.replace_if(self._path, self._document(), version)  # expired, unreadable, or ours
            if token is None:  # another run took it over first
                return True
            if holder is not None and holder != self.holder:
                self.abandoned = holder  # it died holding the lease: its runs are left running
        self._token = token
        self._renewer = threading.Thread(target=self._renew, name=f"dtflw lease {self.where}", daemon=True)
        self._renewer.start()
        return None

    def _renew(self) -> None:
        assert self._token is not None  # taken before the renewer starts, dropped after it stopped
        while not self._stop.wait(LEASE_SECONDS / 3):
            try:
                token = self._fs.replace_if(self._path, self._document(), self._token)
            except Exception:  # a missed renewal is retried; the lease lasts LEASE_SECONDS
                continue
            if token is None:  # taken over after we missed renewals for LEASE_SECONDS: ours no more
                return
            self._token = token

    def release(self) -> None:
        if self._token is None:
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self._fs.delete_if(self._path, self._token)
        finally:
            self._token = None


def _parse_lease(text: str) -> tuple[Holder | None, float]:
    """The holder of a lease object and when it expires; (None, 0) for a document that is not one."""
    try:
        fields = json.loads(text)
        return Holder.parse(fields), float(fields["expires"])
    except (ValueError, TypeError, KeyError):
        return None, 0.0


def lease_for(storage: Storage, run_id: str) -> Lease | None:
    """The lease of a storage (None where the backend has none)."""
    from dtflw.storage.base import FolderStorage
    from dtflw.storage.filesystems import BlobLeasing, ConditionalCreating

    logical = storage.get_abs_path(storage.get_path_in_root_dir(LEASE_FILE))
    if isinstance(storage, FolderStorage):
        return FileLease(storage.fs_path(logical), storage.url, run_id)
    fs = storage.fs
    if isinstance(fs, BlobLeasing):
        return BlobLease(fs.container_client, fs.blob_name(logical), storage.url, run_id)
    if isinstance(fs, ConditionalCreating):
        return ObjectLease(fs, storage.fs_path(logical), storage.url, run_id)
    return None


def _parsed(text: str) -> Holder | None:
    """The holder a lease file names (None: empty or unreadable)."""
    try:
        fields = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    return Holder.parse(fields) if isinstance(fields, dict) else None


class RunLeases:
    """The leases of one run: a storage's is taken the first time a flow of the run opens it, waiting up
    to `wait` seconds for another run to give it up, and held until the run ends (`with RunLeases(...)`).
    A storage this run holds already is taken again at once, from any thread. `on_abandoned(storage, holder)`
    is called when a lease is taken from a holder that died holding it."""

    def __init__(self, run_id: str, wait: float = 0.0, on_abandoned: Callable[[Storage, Holder], object] | None = None):
        self.run_id = run_id
        self.wait = wait
        self._on_abandoned = on_abandoned
        self._held: dict[str, Lease] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def hold(self, storage: Storage) -> Lease | None:
        """The lease of `storage`, taken now unless this run holds it already (None: it has none)."""
        lease = lease_for(storage, self.run_id)
        if lease is None:
            return None
        with self._lock:
            lock = self._locks.setdefault(lease.key, threading.Lock())
        with lock:  # one thread takes a storage; the others find it held
            held = self._held.get(lease.key)
            if held is None:
                held = self._held[lease.key] = lease.held(self.wait)
                if held.abandoned is not None and self._on_abandoned is not None:
                    self._on_abandoned(storage, held.abandoned)
            return held

    def release(self) -> None:
        """Give back every lease of the run, the last taken first."""
        with self._lock:
            leases, self._held = list(self._held.values()), {}
        for lease in reversed(leases):
            with contextlib.suppress(Exception):  # a lease that cannot be given back expires or dies with us
                lease.release()

    def __enter__(self) -> RunLeases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
