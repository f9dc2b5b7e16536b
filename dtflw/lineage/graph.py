"""The lineage graph: notebooks, tables and runs, and which run consumed or produced which table version."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from dtflw.errors import LineageDocumentError, LineageFormatError
from dtflw.events import FlowRun, NotebookRun, RunStatus, TableUse
from dtflw.gc_pause import paused_gc
from dtflw.lineage.document import parse_document, runs_folder

if TYPE_CHECKING:
    from dtflw.storage.base import Storage

log = logging.getLogger("dtflw")

CONSUMED = "consumed"
PRODUCED = "produced"


@dataclass
class NotebookNode:
    """A notebook, by workspace path, with what its runs said about it."""

    path: str
    rel_paths: list[str] = field(default_factory=list)
    source_fingerprints: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "notebook:" + self.path

    @property
    def name(self) -> str:
        return posixpath.basename(self.path.rstrip("/")) or self.path

    @property
    def label(self) -> str:
        """The notebook's path relative to its flow (as last called), else its name."""
        return self.rel_paths[-1] if self.rel_paths else self.name


@dataclass
class TableNode:
    """A table, by path, with the names and aliases flows gave it."""

    path: str
    names: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    format: str | None = None

    @property
    def id(self) -> str:
        return "table:" + self.path

    @property
    def name(self) -> str:
        return self.names[-1] if self.names else posixpath.basename(self.path.rstrip("/"))


@dataclass(frozen=True)
class Edge:
    """A run declared it consumes (input) or produces (output) a table; `use` is the table as seen then.

    Whether it happened follows from the run's status: only a succeeded run produced its outputs,
    and a skipped run consumed nothing.
    """

    kind: str
    run_id: str
    notebook: str
    table: str
    use: TableUse

    @property
    def version(self) -> str | None:
        """The table's version as seen: `v3` for Delta, a fingerprint prefix for parquet, `missing`."""
        return self.use.state.version_label if self.use.state is not None else None


class LineageGraph:
    """Flow runs, notebook runs, notebooks and tables, and the consumed/produced edges between them."""

    def __init__(
        self, flows: Iterable[FlowRun] = (), runs: Iterable[NotebookRun] = (), problems: Iterable[str] = ()
    ) -> None:
        self.problems: list[str] = list(problems)
        self.display_html: Callable[[str], object] | None = None  # the runtime's displayHTML, for `display()`
        self.flows: dict[str, FlowRun] = {f.run_id: f for f in _merged(sorted(flows, key=lambda f: f.started))}
        self.runs: dict[str, NotebookRun] = {r.run_id: r for r in sorted(runs, key=lambda r: r.started)}
        self.notebooks: dict[str, NotebookNode] = {}
        self.tables: dict[str, TableNode] = {}
        self.edges: list[Edge] = []
        with paused_gc():
            for run in self.runs.values():
                self._add_run(run)
            self._index()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_runs(cls, flow_runs: Iterable[FlowRun], notebook_runs: Iterable[NotebookRun]) -> LineageGraph:
        """The graph of runs held in memory (e.g. those a flow just made)."""
        return cls(flow_runs, notebook_runs)

    @classmethod
    def load(cls, storage: Storage) -> LineageGraph:
        """The graph of every flow run recorded on `storage`; unreadable files land in `.problems`."""
        flows: list[FlowRun] = []
        runs: list[NotebookRun] = []
        problems: list[str] = []
        folder = runs_folder(storage)
        for info in storage.list_dir(folder):
            if info.name.startswith(".") or ".tmp-" in info.name:
                continue  # a document being written right now
            if info.is_dir or not info.name.endswith(".json"):
                problems.append(f"{info.path}: not a lineage document (expected <flow run id>.json); skipped")
                continue
            try:
                text = storage.read_text(info.path)
                if text is None:
                    continue  # removed since it was listed
                flow, flow_runs = parse_document(text)
            except LineageDocumentError as e:
                problems.append(f"{info.path}: {e}; skipped")
                continue
            except Exception as e:  # a storage read error: report it and read the rest
                problems.append(f"{info.path}: could not be read ({type(e).__name__}: {e}); skipped")
                continue
            flows.append(flow)
            runs.extend(flow_runs)
        for problem in problems:
            log.warning("dtflw lineage: %s", problem)
        return cls(flows, runs, problems)

    def _add_run(self, run: NotebookRun) -> None:
        notebook = self.notebooks.get(run.notebook_path)
        if notebook is None:
            notebook = self.notebooks[run.notebook_path] = NotebookNode(run.notebook_path)
        notebook.run_ids.append(run.run_id)
        _add_new(notebook.rel_paths, run.rel_path)
        _add_new(notebook.source_fingerprints, run.source_fingerprint)
        for tag in run.tags:
            _add_new(notebook.tags, tag)
        for kind, uses in ((CONSUMED, run.inputs), (PRODUCED, run.outputs)):
            for use in uses:
                if not use.path:
                    continue  # an optional input that was not given
                table = self.tables.get(use.path)
                if table is None:
                    table = self.tables[use.path] = TableNode(use.path)
                _add_new(table.names, use.name)
                _add_new(table.aliases, use.alias if use.alias != use.name else None)
                table.format = use.format or (use.state.format if use.state is not None else None) or table.format
                self.edges.append(Edge(kind, run.run_id, run.notebook_path, use.path, use))

    def _index(self) -> None:
        self._edges_of_run: dict[str, list[Edge]] = {}
        self._edges_of_table: dict[str, list[Edge]] = {}
        self.upstream_of: dict[str, set[str]] = {}
        self.downstream_of: dict[str, set[str]] = {}
        for edge in self.edges:
            self._edges_of_run.setdefault(edge.run_id, []).append(edge)
            self._edges_of_table.setdefault(edge.table, []).append(edge)
            notebook, table = "notebook:" + edge.notebook, "table:" + edge.table
            source, target = (table, notebook) if edge.kind == CONSUMED else (notebook, table)
            self.downstream_of.setdefault(source, set()).add(target)
            self.upstream_of.setdefault(target, set()).add(source)

    def subgraph(self, node_ids: set[str]) -> LineageGraph:
        """The part of this graph with only the given notebook and table nodes (and their runs and edges)."""
        sub = LineageGraph.__new__(LineageGraph)
        sub.problems = list(self.problems)
        sub.notebooks = {p: n for p, n in self.notebooks.items() if n.id in node_ids}
        sub.tables = {p: t for p, t in self.tables.items() if t.id in node_ids}
        sub.runs = {i: r for i, r in self.runs.items() if r.notebook_path in sub.notebooks}
        flow_ids = {r.flow_run_id for r in sub.runs.values()}
        sub.flows = {i: f for i, f in self.flows.items() if i in flow_ids}
        sub.edges = [e for e in self.edges if e.notebook in sub.notebooks and e.table in sub.tables]
        sub._index()
        return sub

    # -- output -------------------------------------------------------------------------------
    def export(self, fmt: str, out_path: str | None = None, select: str | None = None, **options: object) -> str | None:
        """This graph as json, openlineage, mermaid, dot or html (see `dtflw.lineage.exporting`)."""
        from dtflw.lineage.exporting import export

        return export(self, fmt, out_path, select, **options)

    def display(self, display_html: Callable[[str], object] | None = None, select: str | None = None) -> None:
        """Show the HTML report with a notebook's `displayHTML`: the one given, else the one of the runtime
        that made this graph (`flow.lineage.display()`)."""
        show = display_html or self.display_html
        if show is None:
            raise LineageFormatError("No displayHTML to show the lineage report with; pass graph.display(displayHTML).")
        page = self.export("html", select=select)
        assert page is not None  # html without an out_path: the page is returned
        show(page)

    # -- queries ------------------------------------------------------------------------------
    def select(self, expr: str) -> LineageGraph:
        """The subgraph a selection picks: `T`, `+T`, `T+`, `+T+`, `tag:x`, unions by space or comma."""
        from dtflw.lineage.select import select_nodes

        return self.subgraph(select_nodes(self, expr))

    def inputs_of(self, run_id: str) -> list[Edge]:
        return [e for e in self._edges_of_run.get(run_id, ()) if e.kind == CONSUMED]

    def outputs_of(self, run_id: str) -> list[Edge]:
        return [e for e in self._edges_of_run.get(run_id, ()) if e.kind == PRODUCED]

    def edges_of_table(self, table_path: str) -> list[Edge]:
        """Every edge of the table at `table_path`, in run order."""
        return list(self._edges_of_table.get(table_path, ()))

    def find_tables(self, key: str) -> list[TableNode]:
        """The tables whose path, name or alias is `key`."""
        if key in self.tables:
            return [self.tables[key]]
        return [t for t in self.tables.values() if key in t.names or key in t.aliases]

    def find_notebooks(self, key: str) -> list[NotebookNode]:
        """The notebooks whose workspace path, relative path or name is `key` (or ends with `/key`)."""
        if key in self.notebooks:
            return [self.notebooks[key]]
        suffix = "/" + key.strip("/")
        return [n for n in self.notebooks.values() if key in n.rel_paths or n.name == key or n.path.endswith(suffix)]

    def history(self, table: str) -> list[Edge]:
        """What happened to a table (path, name or alias), oldest first: produced by succeeded runs,
        consumed by runs that ran (not skipped)."""
        paths = {t.path for t in self.find_tables(table)}
        found = []
        for path in paths:
            for edge in self._edges_of_table.get(path, ()):
                status = self.runs[edge.run_id].status
                if status == RunStatus.SUCCEEDED or (edge.kind == CONSUMED and status != RunStatus.SKIPPED):
                    found.append(edge)
        return sorted(found, key=lambda e: self._edge_time(e))

    def latest_producer(self, table: str) -> NotebookRun | None:
        """The succeeded run that last produced a table (path, name or alias), or None."""
        produced = [e for e in self.history(table) if e.kind == PRODUCED]
        return self.runs[produced[-1].run_id] if produced else None

    def producers(self, table: str) -> list[NotebookRun]:
        """Every succeeded run that produced a table (path, name or alias), oldest first."""
        return [self.runs[e.run_id] for e in self.history(table) if e.kind == PRODUCED]

    def runs_of(self, notebook: str) -> list[NotebookRun]:
        """Every run of a notebook (workspace path, relative path or name), oldest first."""
        paths = {n.path for n in self.find_notebooks(notebook)}
        return [r for r in self.runs.values() if r.notebook_path in paths]

    def latest_run(self, notebook_path: str) -> NotebookRun | None:
        """The newest run of the notebook at a workspace path."""
        node = self.notebooks.get(notebook_path)
        return self.runs[node.run_ids[-1]] if node and node.run_ids else None

    def latest_seen(self, table_path: str) -> Edge | None:
        """The newest observation of the table at `table_path`: its version and rows as last seen.

        Outputs of runs that did not succeed count only when nothing else saw the table."""
        edges = self._edges_of_table.get(table_path, ())
        happened = [e for e in edges if e.kind == CONSUMED or self.runs[e.run_id].status == RunStatus.SUCCEEDED]
        candidates = happened or list(edges)
        return max(candidates, key=self._edge_time) if candidates else None

    def links(self) -> list[tuple[str, str]]:
        """The distinct (source node id, target node id) pairs: table → notebook consuming it, notebook → table."""
        return [(source, target) for source, targets in self.downstream_of.items() for target in sorted(targets)]

    def _edge_time(self, edge: Edge) -> float:
        run = self.runs[edge.run_id]
        return (run.ended or run.started) if edge.kind == PRODUCED else run.started

    def __repr__(self) -> str:
        return (
            f"LineageGraph({len(self.flows)} flow runs, {len(self.runs)} notebook runs, "
            f"{len(self.notebooks)} notebooks, {len(self.tables)} tables, {len(self.problems)} problems)"
        )


def _add_new(items: list[str], value: str | None) -> None:
    if value and value not in items:
        items.append(value)


def _merged(flows: list[FlowRun]) -> list[FlowRun]:
    """One record per flow run: a job run's flow is in the document of each of its tasks and in its own
    (`dtflw.deploy`); it started with its first record and ended as its ended record says."""
    by_id: dict[str, list[FlowRun]] = {}
    for flow in flows:
        by_id.setdefault(flow.run_id, []).append(flow)
    merged = []
    for same in by_id.values():
        if len(same) == 1:
            merged.append(same[0])
            continue
        ended = [f for f in same if f.ended is not None]
        chosen = max(ended, key=lambda f: f.ended or 0.0) if ended else same[0]  # each has its `ended`
        merged.append(replace(chosen, started=min(f.started for f in same)))
    return merged
