"""Ctrl-C and SIGTERM during a local run: stop the running notebooks, record them cancelled, exit.

`dtflw run` runs the notebook in a thread of its own, so the main thread is always free to take a
signal (Python runs signal handlers in the main thread only, and a thread blocked in C would not
wake: this is why Ctrl-C used to wait for minutes). The first SIGINT or SIGTERM cancels the run:
every notebook running locally has its Spark operations interrupted (as a timeout does) and an
exception raised in its thread; the flows that are open end as `cancelled` with their running
notebooks (lineage written), by their own threads or, for a notebook stuck in a C call such as
`time.sleep`, after `UNWIND_SECONDS` by the main thread. `dtflw run` then exits with 128 + the
signal's number (130 for Ctrl-C). Whatever still runs after `GRACE_SECONDS` is abandoned: the
process exits then. A second signal exits at once.

Signals are the process's, so the cancellation state is too (`CANCELLATION`).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Protocol, TypeVar, cast

from dtflw.events import FlowListener, FlowRun, Listeners, NotebookRun, RunStatus

T = TypeVar("T")

GRACE_SECONDS = 4.0  # from the first signal to the exit, whatever still runs
UNWIND_SECONDS = 1.5  # how long notebook threads get to end their flows themselves
POLL_SECONDS = 0.1
SIGNALS = (signal.SIGINT, signal.SIGTERM)
CANCELLED_ERROR = "cancelled: the run was interrupted"
INTERRUPTED_LINE = "✖ Interrupted (SIGINT).\n".encode()  # the same line as `_dtflw_cli`'s


class OpenedFlow(Protocol):
    """A flow a notebook opened (`dtflw.core.flow.Flow`): ended when the notebook finishes."""

    def end(self, failed: bool = False, cancelled: bool = False) -> None: ...


class RunningNotebook(Protocol):
    """What a cancellation stops of a notebook running locally (its `dtflw.runtime.Runtime`)."""

    flows: list[OpenedFlow]

    @property
    def spark_started(self) -> bool: ...

    @property
    def spark(self) -> Any: ...


class NotebookCancelled(KeyboardInterrupt):  # noqa: N818 - a KeyboardInterrupt, so `except Exception` lets it pass
    """A notebook was stopped because the run was interrupted (Ctrl-C, SIGTERM)."""


class Cancellation:
    """Which notebooks run locally (thread and runtime), and whether the run was interrupted."""

    def __init__(self) -> None:
        self.signal: int | None = None  # the first signal received
        # called before a forced exit (output still on its way is shown)
        self.exit_hooks: list[Callable[[], object]] = []
        self._running: dict[int, tuple[threading.Thread, RunningNotebook]] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signal).name if self.signal else "KeyboardInterrupt"

    @property
    def exit_code(self) -> int:
        return 128 + (self.signal or signal.SIGINT)

    @contextlib.contextmanager
    def running(self, runtime: RunningNotebook) -> Iterator[None]:
        """Around one notebook's execution in the current thread: interruptible while it runs; once the
        run is cancelled, it cannot start, and whatever it raises becomes `NotebookCancelled`."""
        if self.requested:
            raise NotebookCancelled(f"not started: the run was interrupted ({self.signal_name})")
        key = object()
        self._running[id(key)] = (threading.current_thread(), runtime)
        try:
            yield
        except NotebookCancelled:
            raise
        except Exception as e:
            if self.requested:  # its Spark operation was interrupted, or it saw the interruption otherwise
                raise NotebookCancelled(f"{CANCELLED_ERROR} ({self.signal_name})") from e
            raise
        finally:
            self._running.pop(id(key), None)

    @contextlib.contextmanager
    def signals_handled(self) -> Iterator[Cancellation]:
        """Within the block, SIGINT and SIGTERM cancel the run (main thread only)."""
        previous = {s: signal.signal(s, self._on_signal) for s in SIGNALS}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in a thread of its own while this (main) thread waits for it and takes the
        signals; after an interrupt, raises `NotebookCancelled` once the open flows are ended."""
        context = contextvars.copy_context()
        outcome: dict[str, Any] = {}
        done = threading.Event()  # polled, never joined: a join cut by an interrupt forgets the thread

        def target() -> None:
            try:
                outcome["value"] = context.run(function, *args)
            except BaseException as e:  # handed to the main thread
                outcome["error"] = e
            finally:
                done.set()

        threading.Thread(target=target, name="dtflw-run", daemon=True).start()
        try:
            while not done.wait(POLL_SECONDS):  # short waits: the main thread takes a signal at once
                pass
        except KeyboardInterrupt:
            unwound_by = time.monotonic() + UNWIND_SECONDS
            while not done.wait(POLL_SECONDS) and time.monotonic() < unwound_by:
                pass
            self._end_open_flows()
            raise
        if "error" in outcome:
            raise outcome["error"]
        return cast(T, outcome.get("value"))  # set whenever the function returned

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:  # a second signal: exit at once
            self.exit()
        self.signal = signum
        for target, delay in ((self.exit, GRACE_SECONDS), (self._stop_running, 0)):
            timer = threading.Timer(delay, target)
            timer.daemon = True
            timer.start()
        raise NotebookCancelled(f"{CANCELLED_ERROR} ({self.signal_name})")

    def _stop_running(self) -> None:
        """Interrupt the Spark operations of every running notebook, then raise `NotebookCancelled` in
        the threads of those still running (a thread in a C call sees it when the call returns)."""
        import ctypes

        for _, runtime in list(self._running.values()):
            if not runtime.spark_started:  # never touched Spark: nothing to interrupt (and none to start)
                continue
            try:
                runtime.spark.interruptAll()
            except Exception:  # no session, closed, or the engine is gone: nothing to interrupt
                pass
        time.sleep(POLL_SECONDS)
        for ident in {thread.ident for thread, _ in list(self._running.values()) if thread.ident is not None}:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(NotebookCancelled))

    def _end_open_flows(self) -> None:
        """End, cancelled, the flows of notebooks whose threads did not unwind (innermost first)."""
        for _, runtime in reversed(list(self._running.values())):
            for flow in list(runtime.flows):
                flow.end(failed=True, cancelled=True)

    def exit(self) -> None:
        """End the process now with 128 + the signal: threads still in a notebook are abandoned."""
        self.finish_output()
        os._exit(self.exit_code)

    def finish_output(self) -> None:
        """Before a forced exit: flush Python's streams, and show the output still on its way."""
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for hook in list(self.exit_hooks):
            with contextlib.suppress(Exception):
                hook()


CANCELLATION = Cancellation()


def exit_interrupted() -> None:
    """End the process after a Ctrl-C outside a run's notebooks (imports, setup, other commands): one
    line, exit 130; a second Ctrl-C meanwhile changes nothing."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    CANCELLATION.finish_output()
    os.write(2, INTERRUPTED_LINE)
    os._exit(128 + signal.SIGINT)


class FlowOfRuns(Protocol):
    """The flow whose open runs are cancelled: its run and its listeners (`dtflw.core.context.FlowContext`)."""

    @property
    def listeners(self) -> Listeners: ...

    @property
    def flow_run(self) -> FlowRun: ...


class OpenRuns(FlowListener):
    """The notebook runs of one flow that started and did not end (a flow listener); when the flow is
    cancelled they end `cancelled`."""

    def __init__(self) -> None:
        self._runs: dict[str, NotebookRun] = {}

    def on_notebook_start(self, flow: FlowRun, run: NotebookRun) -> None:
        self._runs[run.run_id] = run

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        self._runs.pop(run.run_id, None)

    def cancel(self, ctx: FlowOfRuns) -> None:
        """End every open run of the flow of `ctx` as cancelled, telling its listeners."""
        for run in list(self._runs.values()):
            run.status, run.ended, run.error = RunStatus.CANCELLED, time.time(), CANCELLED_ERROR
            ctx.listeners.emit("on_notebook_end", ctx.flow_run, run)
