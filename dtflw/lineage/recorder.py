"""The lineage recorder: a flow listener that keeps each flow run's document up to date on storage.

The pipeline thread only copies each event into a snapshot (microseconds). A writer thread,
started when there is something to write and gone when there is not, adds table schemas and
row counts, serialises, and atomically rewrites `<root_dir>/_dtflw/runs/<flow_run_id>.json`;
events that arrive while it writes are folded into its next write. A failure to record is
logged on the `dtflw` logger, never raised into the pipeline.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dtflw.events import FlowListener, FlowRun, NotebookRun, RunStatus
from dtflw.lineage.document import document_path, document_text, flow_to_dict, parse_document, run_to_dict
from dtflw.lineage.enrich import Schema, describe
from dtflw.secrets import scrub, scrub_fields, secret_texts

if TYPE_CHECKING:
    from dtflw.lineage.graph import LineageGraph
    from dtflw.storage.base import Storage

log = logging.getLogger("dtflw")
K = TypeVar("K")
V = TypeVar("V")


class _Snapshot:
    """One notebook run as last reported; `text` is its JSON once serialised with the current secrets."""

    __slots__ = ("data", "described", "text")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.described = False
        self.text: str | None = None


class _FlowDocument:
    def __init__(self, flow: FlowRun) -> None:
        self.flow = flow_to_dict(flow)
        self.runs: dict[str, _Snapshot] = {}
        self.warned = False


class _Memo(Generic[K, V]):
    """A bounded, thread-safe memo: a table version's schema and row count never change, so every
    recorder of the process shares what was read (a lazy re-run reads no footer twice)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


# (storage url, table path, version fingerprint) → (schema, row count)
_DESCRIBED: _Memo[tuple[str, str, str], tuple[Schema | None, int | None]] = _Memo(4096)


class LineageRecorder(FlowListener):
    """Records every event of the flow runs it listens to into one document per flow run on `storage`.

    `secrets`: values that must never be written (kept by reference, so a set that grows while
    the flow runs — such as the values `dbutils.secrets.get` revealed — is honoured as it grows).
    `describe_tables`: add schemas and row counts read from parquet footers and Delta logs.
    """

    GATHER_SECONDS = 0.05  # events within this time become one write (a crash loses at most this)

    def __init__(self, storage: Storage, secrets: Collection[str] = (), describe_tables: bool = True) -> None:
        self.storage = storage
        self._secrets = secrets
        self._describe_tables = describe_tables
        self._lock = threading.Condition()
        self._documents: dict[str, _FlowDocument] = {}
        self._dirty: dict[str, None] = {}  # flow run ids to write, in order
        self._writing = False
        self._flushing = 0  # threads waiting in flush(): write at once
        self._scrubbed_with: frozenset[str] = frozenset()

    # -- FlowListener -------------------------------------------------------------------------
    def on_flow_start(self, flow: FlowRun) -> None:
        self._record(flow, None)

    def on_notebook_start(self, flow: FlowRun, run: NotebookRun) -> None:
        self._record(flow, run)

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        self._record(flow, run)

    def on_flow_end(self, flow: FlowRun) -> None:
        self._record(flow, None)
        if not self.flush():  # never lost in silence
            log.warning("dtflw lineage: the lineage of flow run %s is not completely written yet", flow.run_id)

    # -- public -------------------------------------------------------------------------------
    def document_path(self, flow_run_id: str) -> str:
        """Where the document of a flow run is written (an absolute path on the storage)."""
        return self.storage.get_abs_path(self._document(flow_run_id))

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until every recorded event is written; False if `timeout` seconds passed first."""
        with self._lock:
            self._flushing += 1
            self._lock.notify_all()
            try:
                return self._lock.wait_for(lambda: not self._dirty and not self._writing, timeout)
            finally:
                self._flushing -= 1

    def graph(self) -> LineageGraph:
        """The lineage recorded so far, in memory (secrets scrubbed, tables described)."""
        from dtflw.lineage.graph import LineageGraph

        self.flush()
        flows: list[FlowRun] = []
        runs: list[NotebookRun] = []
        with self._lock:
            texts = [(doc.flow, [s.text for s in doc.runs.values()]) for doc in self._documents.values()]
        for flow, fragments in texts:
            flow_run, flow_runs = parse_document(document_text(flow, [t for t in fragments if t is not None]))
            flows.append(flow_run)
            runs.extend(flow_runs)
        return LineageGraph.from_runs(flows, runs)

    # -- pipeline thread ----------------------------------------------------------------------
    def _record(self, flow: FlowRun, run: NotebookRun | None) -> None:
        try:
            flow_data = flow_to_dict(flow)
            snapshot = _Snapshot(run_to_dict(run)) if run is not None else None
            with self._lock:
                doc = self._documents.get(flow.run_id)
                if doc is None:
                    doc = self._documents[flow.run_id] = _FlowDocument(flow)
                doc.flow = flow_data
                if run is not None and snapshot is not None:
                    doc.runs[run.run_id] = snapshot
                self._dirty[flow.run_id] = None
                if not self._writing:
                    threading.Thread(target=self._write_pending, name="dtflw-lineage-writer").start()
                    self._writing = True  # the writer waits for this lock, so it sees this
        except Exception as e:  # recording must never fail the pipeline
            flow_run_id = getattr(flow, "run_id", "?")  # whatever failed, the warning is written
            log.warning("dtflw lineage: could not record an event of flow run %s: %s", flow_run_id, self._scrub_text(e))

    # -- writer thread ------------------------------------------------------------------------
    def _write_pending(self) -> None:
        while True:
            with self._lock:
                # gather a burst of events into one write, unless someone waits for it
                self._lock.wait_for(lambda: self._flushing, self.GATHER_SECONDS)
                if not self._dirty:
                    self._writing = False
                    self._lock.notify_all()
                    return
                flow_run_id = next(iter(self._dirty))
                del self._dirty[flow_run_id]
                doc = self._documents[flow_run_id]
                flow, snapshots = doc.flow, list(doc.runs.values())
            try:
                self._write(flow_run_id, doc, flow, snapshots)
            except Exception as e:  # a lost write is logged; the next event writes again
                level = logging.DEBUG if doc.warned else logging.WARNING
                doc.warned = True
                where = self._document(flow_run_id)
                log.log(level, "dtflw lineage: could not write %s: %s", where, self._scrub_text(e))

    def _write(self, flow_run_id: str, doc: _FlowDocument, flow: dict[str, Any], snapshots: list[_Snapshot]) -> None:
        secrets = self._secret_values()
        if secrets != self._scrubbed_with:  # a new secret: every document is serialised and written again
            self._scrubbed_with = secrets
            with self._lock:
                for other_id, other in self._documents.items():
                    for snapshot in other.runs.values():
                        snapshot.text = None
                    if other is not doc:
                        self._dirty[other_id] = None
        fragments = []
        for snapshot in snapshots:
            if snapshot.text is None:
                if self._describe_tables and not snapshot.described:
                    self._describe(snapshot.data)
                    snapshot.described = True
                snapshot.text = json.dumps(_scrub(snapshot.data, secrets), ensure_ascii=False)
            fragments.append(snapshot.text)
        self.storage.write_text(self._document(flow_run_id), document_text(flow, fragments))
        doc.warned = False

    def _document(self, flow_run_id: str) -> str:
        """The document a flow run's events are written to (relative to the storage base)."""
        return document_path(self.storage, flow_run_id)

    def _describe(self, run: dict[str, Any]) -> None:
        """Schemas and row counts of the tables a run read or wrote. A skipped run changed nothing:
        its tables are described by the runs that wrote them, so a lazy no-op reads no footers."""
        if run["status"] == RunStatus.SKIPPED.value:
            return
        for use in run["inputs"] + run["outputs"]:
            state = use["state"]
            if not state or not state["exists"] or use["schema"] is not None:
                continue
            key = (self.storage.url, use["path"], state["fingerprint"] or "")
            found = _DESCRIBED.get(key)
            if found is None:
                try:
                    found = describe(self.storage, use["path"], state["format"], state["version"])
                except Exception as e:  # unreadable footer or log: leave the table undescribed
                    log.debug("dtflw lineage: could not describe %s: %s", use["path"], e)
                    found = (None, None)
                _DESCRIBED.put(key, found)
            schema, rows = found
            use["schema"] = [list(c) for c in schema] if schema is not None else None
            use["row_count"] = rows if use["row_count"] is None else use["row_count"]

    def _secret_values(self) -> frozenset[str]:
        return secret_texts(self._secrets)  # strings (a numeric secret too), safe while secrets are added

    def _scrub_text(self, error: Exception) -> str:
        return scrub(f"{type(error).__name__}: {error}", self._secret_values())


FREE_TEXT = ("args", "exit_value", "error", "reason")  # ids, paths and table states are dtflw's own


def _scrub(run: dict[str, Any], secrets: frozenset[str]) -> dict[str, Any]:
    """A copy of a notebook run's dict with every secret in its free text replaced (`dtflw.secrets`)."""
    return scrub_fields(run, secrets, FREE_TEXT)
