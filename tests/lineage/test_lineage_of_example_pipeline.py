"""Lineage of the README's example pipeline, run for real on Sail with a recorder listening to every flow."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest

from dtflw.events import RunStatus
from dtflw.lineage import LineageGraph, LineageRecorder, export
from dtflw.lineage.export_openlineage import run_events
from dtflw.local.workspace import LocalSettings, LocalWorkspace
from dtflw.storage.local import LocalStorage
from lineage.olspec import SpecValidator, spec_dir  # tests/lineage helper

REPO = pathlib.Path(__file__).resolve().parents[2]
DECLARED = {
    "Orders", "OrderItems", "Customers", "Products", "SalesOrderItems", "ProductRevenue", "RegionRevenue",
    "ShippingDelays", "KpiReport", "MonthlyRevenue", "CustomerSegments",
}  # fmt: skip


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, engine):
    """The example run twice on one storage: once in full, then lazily (everything up to date)."""
    tmp = tmp_path_factory.mktemp("example")
    storage = tmp / "storage"
    shutil.copytree(REPO / "notebooks" / "data" / "sample", storage / "raw")
    workspace = LocalWorkspace(
        str(REPO),
        engine,
        LocalSettings(user="tester@example.com", storage_url=str(storage), dbfs_folder=str(tmp / "dbfs")),
    )
    recorder = LineageRecorder(LocalStorage(str(storage)), secrets=workspace.secret_values)
    workspace.options.listeners.append(recorder)
    summary = json.loads(workspace.run_file(str(REPO / "notebooks" / "main.py"), {"year": "2024"}))
    workspace.options.force_lazy = True
    workspace.run_file(str(REPO / "notebooks" / "main.py"), {"year": "2024"})
    assert recorder.flush()
    return LineageGraph.load(LocalStorage(str(storage))), summary


def first_run(graph: LineageGraph) -> LineageGraph:
    """The full run: the first top-level flow run and the flow it opened inside analysis/main."""
    main = min((f for f in graph.flows.values() if f.parent_run_id is None), key=lambda f: f.started)
    opened = {f.run_id for f in graph.flows.values() if f.parent_run_id in graph.runs}
    flows = {main.run_id} | {i for i in opened if graph.runs[graph.flows[i].parent_run_id].flow_run_id == main.run_id}
    return LineageGraph.from_runs(
        [graph.flows[i] for i in flows], [r for r in graph.runs.values() if r.flow_run_id in flows]
    )


def test_every_declared_table_has_exactly_one_producing_run(pipeline):
    graph, summary = pipeline
    first = first_run(graph)
    assert graph.problems == []
    assert len(first.flows) == 2  # main, and the flow analysis/main opened
    assert all(r.status == RunStatus.SUCCEEDED for r in first.runs.values())
    assert {e.use.name for e in first.edges if e.kind == "produced"} == DECLARED
    for flow_run_id in first.flows:  # within each flow run, one producing run per declared table
        producers: dict[str, list[str]] = {}
        for edge in first.edges:
            if edge.kind == "produced" and first.runs[edge.run_id].flow_run_id == flow_run_id:
                producers.setdefault(edge.table, []).append(edge.run_id)
        assert producers and all(len(runs) == 1 for runs in producers.values()), producers
    assert graph.latest_producer("SalesLines").notebook_path.endswith("/notebooks/silver/build_sales")
    assert set(summary["tables"].values()) <= set(first.tables)


def test_consumed_versions_are_the_produced_ones_and_described_without_spark(pipeline, spark):
    graph, _ = pipeline
    first = first_run(graph)
    produced = {e.table: e for e in first.edges if e.kind == "produced"}
    consumed = [e for e in first.edges if e.kind == "consumed" and e.table in produced]
    assert len(consumed) >= 12
    for edge in consumed:
        assert edge.version == produced[edge.table].version != "missing", edge.table
    for path, edge in produced.items():
        table_format = edge.use.state.format
        assert edge.use.row_count == spark.read.format(table_format).load(path).count(), path
        assert edge.use.schema and all(name and kind for name, kind in edge.use.schema)
    sales = produced[first.find_tables("SalesLines")[0].path]
    assert (sales.version, sales.use.state.format) == ("v0", "delta")
    assert ("amount", "double") in sales.use.schema


def test_the_lazy_rerun_is_recorded_as_skipped_with_its_reason(pipeline):
    graph, _ = pipeline
    latest = max((f for f in graph.flows.values() if f.parent_run_id is None), key=lambda f: f.started)
    runs = [r for r in graph.runs.values() if r.flow_run_id == latest.run_id]
    assert len(runs) == 9
    assert {r.status for r in runs} == {RunStatus.SKIPPED}
    assert all(r.reason.startswith("up to date") for r in runs)
    assert len(graph.runs_of("silver/build_sales")) == 2


@pytest.mark.skipif(spec_dir() is None, reason="the OpenLineage 2-0-2 schemas are not on this machine")
def test_openlineage_events_describe_every_run_and_table_and_are_valid(pipeline, tmp_path):
    graph, _ = pipeline
    validator = SpecValidator(spec_dir())
    events = run_events(graph)
    assert all(validator.errors(e) == [] for e in events)
    assert {e["run"]["runId"] for e in events} == set(graph.runs) | set(graph.flows)
    named = {d["name"] for e in events for d in e["inputs"] + e["outputs"]}
    assert named == set(graph.tables)
    out = tmp_path / "lineage.html"
    export(graph, "html", out_path=str(out))
    assert out.stat().st_size > 10_000
