"""A notebook's printed and displayed output with secrets shown as `[REDACTED]`, as on Databricks.

While a notebook runs locally, `sys.stdout` and `sys.stderr` (where `print`, `display`, `df.show()`
and the dtflw logger write) pass through a stream that holds back a partial line and scrubs each
complete one with the policy of `dtflw.secrets`. `dtflw run` also redacts at the process's file
descriptors (`dtflw.local.redacted_fds`): `os.write`, `%sh` cells and other subprocesses are covered there.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Collection, Iterator
from typing import Any, TextIO

from dtflw.secrets import scrub

_lock = threading.Lock()


class RedactingStream:
    """A text stream writing whole lines, each scrubbed of `secrets` (a set that may grow)."""

    def __init__(self, stream: TextIO, secrets: Collection[object]):
        self._stream = stream
        self._secrets = secrets
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                self._stream.write(scrub(lines + "\n", self._secrets))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._stream.write(scrub(self._pending, self._secrets))
                self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno… of the stream it wraps
        return getattr(self._stream, name)


@contextlib.contextmanager
def redacted_output(secrets: Collection[object]) -> Iterator[None]:
    """Within the block, stdout and stderr are scrubbed of `secrets`. The outermost block (the
    notebook that calls the others, and so ends last) replaces the streams; blocks inside it, in
    any thread, find them replaced."""
    with _lock:
        installed = not isinstance(sys.stdout, RedactingStream)
        if installed:
            saved = (sys.stdout, sys.stderr)
            sys.stdout, sys.stderr = RedactingStream(sys.stdout, secrets), RedactingStream(sys.stderr, secrets)
            ours = (sys.stdout, sys.stderr)
    try:
        yield
    finally:
        if installed:
            with _lock:
                for stream in ours:
                    with contextlib.suppress(Exception):
                        stream.flush()
                if (sys.stdout, sys.stderr) == ours:
                    sys.stdout, sys.stderr = saved
