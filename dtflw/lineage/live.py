"""OpenLineage events as the flow runs, when openlineage-python finds a transport configured.

A transport counts as configured the way openlineage-python's users configure it: `OPENLINEAGE_URL`,
`OPENLINEAGE_CONFIG`, an `openlineage.yml` (in the working directory, the directory the shell
started in, or `~/.openlineage/`), or `OPENLINEAGE__TRANSPORT__*` variables; `OPENLINEAGE_DISABLED=true`
turns it off. Then every flow gets a `LiveOpenLineage` listener: START when a flow or notebook run
starts, COMPLETE / FAIL / ABORT when it ends — the same events `dtflw lineage export --format
openlineage` builds afterwards (spec 2-0-2, see `export_openlineage`).

The pipeline never waits for the backend: a listener only copies the run into a bounded queue
(events beyond `QUEUE_SIZE` are dropped and counted), and one background thread per configuration
builds and sends the events in order. After a failed send, events are dropped for
`RETRY_AFTER_SECONDS` (a dead endpoint costs the run nothing); at process exit undelivered events get
at most `DEADLINE_SECONDS` more.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from dtflw.events import FlowListener, FlowRun, NotebookRun, redact, scrub
from dtflw.extras import extra

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

    from dtflw.lineage.export_openlineage import EventClient

log = logging.getLogger("dtflw")

QUEUE_SIZE = 10_000
DEADLINE_SECONDS = 5.0
RETRY_AFTER_SECONDS = 30.0
_ALIASES = "OPENLINEAGE__TRANSPORT__TRANSPORTS__DEFAULT_HTTP__"  # what the client itself adds to the environment
# what configures a transport: the OPENLINEAGE* variables, the openlineage.yml found, the one the shell started by
ConfigKey = tuple[tuple[tuple[str, str], ...], str | None, str | None]
_senders: dict[ConfigKey, EventSender] = {}
_senders_lock = threading.Lock()


def live_listener(secrets: Collection[str] = ()) -> LiveOpenLineage | None:
    """A listener sending a flow's events as they happen, if an OpenLineage transport is configured."""
    found = _configuration()
    if found is None:
        return None
    key, config_file = found
    with _senders_lock:
        sender = _senders.get(key)
        if sender is None:
            sender = _senders[key] = EventSender(lambda: _client(config_file))
    return LiveOpenLineage(sender, secrets)


class LiveOpenLineage(FlowListener):
    """Hands each event of a flow to an `EventSender`, with secrets redacted; never blocks."""

    def __init__(self, sender: EventSender, secrets: Collection[str] = ()) -> None:
        self._sender = sender
        self._secrets = secrets

    def on_flow_start(self, flow: FlowRun) -> None:
        self._sender.put("START", flow, None)

    def on_notebook_start(self, flow: FlowRun, run: NotebookRun) -> None:
        self._sender.put("START", flow, self._redacted(run))

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        self._sender.put("END", flow, self._redacted(run))

    def on_flow_end(self, flow: FlowRun) -> None:
        self._sender.put("END", flow, None)

    def _redacted(self, run: NotebookRun) -> NotebookRun:
        secrets = frozenset(self._secrets) - {""}
        copy = NotebookRun(**vars(run))
        copy.args = redact(run.args, (), secrets)
        copy.error = scrub(run.error, secrets)
        copy.inputs, copy.outputs = list(run.inputs), list(run.outputs)
        return copy


class EventSender:
    """A bounded queue of run events and the one thread that builds and sends them, in order.

    `client`: openlineage-python's client, or a function making it — called on the sender's thread, so
    that neither its setup nor a broken configuration reaches the pipeline."""

    def __init__(self, client: EventClient | Callable[[], EventClient], job_namespace: str | None = None) -> None:
        from dtflw.lineage.export_openlineage import DEFAULT_JOB_NAMESPACE

        self.client: EventClient | Callable[[], EventClient] | None = client  # None: it could not be set up
        self.job_namespace = job_namespace or DEFAULT_JOB_NAMESPACE
        self.sent = self.dropped = 0
        self._queue: queue.Queue[tuple[str, FlowRun, NotebookRun | None]] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._flows: dict[str, FlowRun] = {}  # every flow and notebook run seen: parents and roots of later events
        self._runs: dict[str, NotebookRun] = {}

    def put(self, kind: str, flow: FlowRun, run: NotebookRun | None) -> None:
        """Queue an event (a copy of the flow and run as they are now); drop it if the queue is full."""
        try:
            self._queue.put_nowait((kind, FlowRun(**vars(flow)), run))
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("dtflw OpenLineage: the backend is behind; events are dropped (queue of %d)", QUEUE_SIZE)
            return
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._send_all, name="dtflw-openlineage", daemon=True)
                    self._thread.start()
                    atexit.register(self.close, DEADLINE_SECONDS)

    def flush(self, timeout: float = DEADLINE_SECONDS) -> bool:
        """Wait until every queued event is sent or dropped; False if `timeout` seconds passed first."""
        done = self._queue.all_tasks_done
        with done:
            return done.wait_for(lambda: not self._queue.unfinished_tasks, timeout)

    def close(self, timeout: float = DEADLINE_SECONDS) -> None:
        """Send what is queued within `timeout` seconds, then stop."""
        self.flush(timeout)

    def _send_all(self) -> None:
        client = self._set_up_client()
        while True:
            kind, flow, run = self._queue.get()
            try:
                if client is None or time.monotonic() < self._down_until:
                    self.dropped += 1
                else:
                    self._send(client, kind, flow, run)
            except Exception as e:  # never let the backend reach the pipeline
                self.dropped += 1
                self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
                log.warning(
                    "dtflw OpenLineage: sending an event failed (%s); events of the next %.0f s are dropped",
                    type(e).__name__,
                    RETRY_AFTER_SECONDS,
                )
            finally:
                self._queue.task_done()

    def _set_up_client(self) -> EventClient | None:
        """The client, made now (on the sender's thread) if a function making it was given; None if it fails."""
        if not callable(self.client):
            return self.client
        try:
            self.client = self.client()
        except Exception as e:  # a broken configuration: no events, and the pipeline goes on
            self.client = None
            log.warning("dtflw OpenLineage: no events sent, the client cannot be set up: %s", e)
        return self.client

    def _send(self, client: EventClient, kind: str, flow: FlowRun, run: NotebookRun | None) -> None:
        from dtflw.lineage.export_openlineage import _uuid, run_events, to_client_event
        from dtflw.lineage.graph import LineageGraph

        self._flows[flow.run_id] = flow
        if run is not None:
            self._runs[run.run_id] = run
        flows, runs = [flow], [run] if run is not None else []
        if run is None and kind == "END":  # a failed flow names its last failed run
            runs = [r for r in self._runs.values() if r.flow_run_id == flow.run_id and r.error][-1:]
        outer = flow
        while outer.parent_run_id in self._runs and len(flows) < 100:
            opener = self._runs[outer.parent_run_id]
            found = self._flows.get(opener.flow_run_id)
            if found is None or found in flows:
                break
            outer = found
            runs.append(opener)
            flows.append(outer)
        run_id = _uuid(run.run_id if run is not None else flow.run_id)
        events = run_events(LineageGraph(flows, runs), self.job_namespace)
        mine = [e for e in events if e["run"]["runId"] == run_id and (e["eventType"] == "START") == (kind == "START")]
        if mine:
            client.emit(to_client_event(mine[-1]))
            self.sent += 1


def _configuration() -> tuple[ConfigKey, str | None] | None:
    """What configures the OpenLineage transport (a key for it, and an `openlineage.yml` the client would
    not find itself), or None if nothing does."""
    environ = os.environ
    if environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return None
    variables = tuple(
        sorted(
            (k, v)
            for k, v in environ.items()
            if k.startswith("OPENLINEAGE") and not k.upper().startswith(_ALIASES) and k != "OPENLINEAGE_DISABLED"
        )
    )
    own = [os.path.join(os.getcwd(), "openlineage.yml"), os.path.expanduser("~/.openlineage/openlineage.yml")]
    shell = os.path.join(environ["PWD"], "openlineage.yml") if environ.get("PWD") else None
    found = next((p for p in own if os.path.isfile(p)), None)
    extra = shell if found is None and shell and os.path.isfile(shell) else None
    configured = (
        environ.get("OPENLINEAGE_URL")
        or environ.get("OPENLINEAGE_CONFIG")
        or found
        or extra
        or any(k.startswith("OPENLINEAGE__TRANSPORT") for k, _ in variables)
    )
    return ((variables, found, extra), extra) if configured else None


def _client(config_file: str | None) -> OpenLineageClient:
    """openlineage-python's client configured the standard way (plus `config_file`, if given)."""
    with extra("lineage", "Sending OpenLineage events (OPENLINEAGE_URL or openlineage.yml is set)"):
        from openlineage.client import OpenLineageClient
    if config_file is None:
        return OpenLineageClient()
    with extra("lineage", f"The OpenLineage configuration {config_file}"):
        import yaml

    with open(config_file, encoding="utf-8") as f:
        return OpenLineageClient(config=yaml.safe_load(f) or {})
