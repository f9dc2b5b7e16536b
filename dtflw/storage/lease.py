"""A lease per storage: one `dtflw run` writes a storage at a time.

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
import socket
import threading
import time
from dataclasses import asdict, dataclass

from dtflw.errors import StorageBusyError

LEASE_FILE = "_dtflw/lease"
LEASE_SECONDS = 15  # Azure's shortest lease: how long a dead holder keeps the storage
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Holder:
    """Who holds a storage's lease."""

    host: str
    pid: int
    run_id: str
    since: float

    @classmethod
    def me(cls, run_id: str) -> Holder:
        return cls(socket.gethostname(), os.getpid(), run_id, time.time())

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return f"run {self.run_id} (pid {self.pid} on {self.host}, since {since})"

    @classmethod
    def parse(cls, fields: dict) -> Holder | None:
        try:
            return cls(str(fields["host"]), int(fields["pid"]), str(fields["run_id"]), float(fields["since"]))
        except (KeyError, TypeError, ValueError):
            return None


class Lease:
    """Exclusive use of a storage for one run: `with lease_for(storage, run_id).held(wait=30): ...`."""

    def __init__(self, where: str, run_id: str):
        self.where = where
        self.holder = Holder.me(run_id)

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

    def __exit__(self, *exc) -> None:
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

    def _try_acquire(self) -> Holder | bool | None:
        import fcntl

        os.makedirs(os.path.dirname(self._path), exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
            os.close(fd)
            try:
                return Holder.parse(json.loads(text)) or True
            except ValueError:  # the holder is just writing its name
                return True
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

    def __init__(self, container_client, blob_name: str, where: str, run_id: str):
        super().__init__(where, run_id)
        self._blob = container_client.get_blob_client(blob_name)
        self._lease = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

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
        self._blob.set_blob_metadata({k: str(v) for k, v in asdict(self.holder).items()}, lease=self._lease)
        self._renewer = threading.Thread(target=self._renew, name=f"dtflw lease {self.where}", daemon=True)
        self._renewer.start()
        return None

    def _renew(self) -> None:
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

    def __init__(self, fs, path: str, where: str, run_id: str):
        super().__init__(where, run_id)
        self._fs = fs
        self._path = path
        self._token: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

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
        self._token = token
        self._renewer = threading.Thread(target=self._renew, name=f"dtflw lease {self.where}", daemon=True)
        self._renewer.start()
        return None

    def _renew(self) -> None:
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


def lease_for(storage, run_id: str) -> Lease | None:
    """The lease of a storage (None where the backend has none)."""
    from dtflw.storage.base import FolderStorage

    logical = storage.get_abs_path(storage.get_path_in_root_dir(LEASE_FILE))
    if isinstance(storage, FolderStorage):
        return FileLease(storage.fs_path(logical), storage.url, run_id)
    container = getattr(storage.fs, "container_client", None)
    if container is not None:
        return BlobLease(container, storage.fs.blob_name(logical), storage.url, run_id)
    if hasattr(storage.fs, "create_if_absent"):
        return ObjectLease(storage.fs, storage.fs_path(logical), storage.url, run_id)
    return None


@contextlib.contextmanager
def holding(storage_url: str, run_id: str, wait: float = 0.0):
    """Hold the lease of the storage at `storage_url` (if it has one) while the block runs."""
    from dtflw.storage import from_url

    lease = lease_for(from_url(storage_url), run_id)
    if lease is None:
        yield None
        return
    with lease.held(wait):
        yield lease
