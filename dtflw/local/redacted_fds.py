"""The process's output with secrets shown as `[REDACTED]` at its file descriptors, as on Databricks.

`dtflw run` sends file descriptors 1 and 2 through a pipe (a pseudo-terminal where they were a terminal,
so that programs still see one): whatever writes there — `print`, `sys.__stdout__`, `os.write(1, …)`, a
`%sh` cell, any subprocess, the Spark JVM — is read by a thread that scrubs it with the policy of
`dtflw.secrets` and writes it where the descriptor pointed. Output passes on whole lines; a partial line
(a prompt, a progress bar) passes after `IDLE_SECONDS` without more, all but a tail that could be the
start of a secret. A secret split across writes is still found; bytes that are not UTF-8 pass unchanged.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import sys
import threading
from collections.abc import Iterable

from dtflw.secrets import scrub, secret_texts

IDLE_SECONDS = 0.05  # a partial line waits this long for the rest before it is shown
DRAIN_SECONDS = 2.0  # at the end, how long output still in the pipe gets to be shown
CHUNK = 65536


class RedactedFds:
    """Descriptors (1 and 2) redirected through a scrubbing reader until `close()`. `secrets` is read at
    every write, so a set that grows (or is replaced) while the run goes on is honoured."""

    def __init__(self, secrets: set[str], fds: Iterable[int] = (1, 2)) -> None:
        self.secrets = secrets
        self._pumps: list[_Pump] = []
        for group in _same_targets(fds):
            self._pumps.append(_Pump(group, self))

    def close(self) -> None:
        """Flush Python's streams, give the descriptors back and show what is still on its way."""
        for stream in {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__}:
            with contextlib.suppress(Exception):
                if stream is not None:  # no console (pythonw)
                    stream.flush()
        pumps, self._pumps = self._pumps, []  # closed once, even when a Ctrl-C cut the first close short
        for pump in pumps:
            pump.close()

    def __enter__(self) -> RedactedFds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _same_targets(fds: Iterable[int]) -> list[list[int]]:
    """The descriptors grouped by what they write to (1 and 2 on one terminal: one group, order kept)."""
    groups: dict[tuple[int, int], list[int]] = {}  # (device, inode) → descriptors
    for fd in fds:
        try:
            stat = os.fstat(fd)
        except OSError:  # closed: nothing to redirect
            continue
        groups.setdefault((stat.st_dev, stat.st_ino), []).append(fd)
    return list(groups.values())


class _Pump:
    """One pipe (or pseudo-terminal) standing in for a group of descriptors, and the thread reading it."""

    def __init__(self, fds: list[int], owner: RedactedFds):
        self._fds, self._owner = fds, owner
        self._target = os.dup(fds[0])
        self._read, write = _channel(self._target)
        for fd in fds:
            os.dup2(write, fd)
        os.close(write)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self._pending = ""
        self._thread = threading.Thread(target=self._run, name=f"dtflw redacted output {fds}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        for fd in self._fds:
            os.dup2(self._target, fd)  # this process writes there no more: the reader sees the end
        self._thread.join(DRAIN_SECONDS)
        if not self._thread.is_alive():  # else a subprocess still holds the pipe: its reader keeps both
            os.close(self._read)
            os.close(self._target)

    def _run(self) -> None:
        poller = select.poll()  # not select(): any descriptor number
        poller.register(self._read, select.POLLIN)
        while True:
            if not poller.poll(IDLE_SECONDS * 1000 if self._pending else None):
                self._emit(_safe_cut(self._pending, len(self._pending), self._texts()))
                continue
            try:
                chunk = os.read(self._read, CHUNK)
            except OSError:  # a pseudo-terminal whose other side closed
                chunk = b""
            self._pending += self._decoder.decode(chunk, final=not chunk)
            if not chunk:
                self._emit(len(self._pending))
                return
            self._emit(_safe_cut(self._pending, self._pending.rfind("\n") + 1, self._texts()))

    def _texts(self) -> frozenset[str]:
        return secret_texts(self._owner.secrets)

    def _emit(self, cut: int) -> None:
        if cut <= 0:
            return
        text, self._pending = self._pending[:cut], self._pending[cut:]
        secrets = self._texts()
        if any(secret in text for secret in secrets):  # a substring test is cheaper than the policy's pattern
            text = scrub(text, secrets)
        data = text.encode("utf-8", "surrogateescape")
        while data:
            try:
                data = data[os.write(self._target, data) :]
            except OSError:  # nobody reads the output any more (`dtflw run | head`): it is dropped
                return


def _channel(target: int) -> tuple[int, int]:
    """(read end, write end): a pseudo-terminal as large as `target` if that is a terminal, else a pipe."""
    if not os.isatty(target):
        return os.pipe()
    import fcntl
    import termios
    import tty

    read, write = os.openpty()
    tty.setraw(write)  # bytes pass as written: no "\r\n" for "\n", no echo
    with contextlib.suppress(OSError):
        fcntl.ioctl(write, termios.TIOCSWINSZ, fcntl.ioctl(target, termios.TIOCGWINSZ, b"\0" * 8))
    os.set_inheritable(write, False)
    return read, write


def _safe_cut(text: str, cut: int, secrets: frozenset[str]) -> int:
    """The largest position <= `cut` splitting `text` neither inside a secret nor before a tail that could
    still become one (the rest of it not written yet)."""
    moved = True
    while moved and cut > 0:
        moved = False
        for secret in secrets:
            for start in range(max(0, cut - len(secret) + 1), cut):
                if secret.startswith(text[start : start + len(secret)]):
                    cut, moved = start, True
                    break
    return cut
