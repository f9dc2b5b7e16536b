"""The graph across flow runs: producers, history, runs of a notebook, and dbt-like selections."""

from __future__ import annotations

import pytest

from dtflw.errors import DtflwError, SelectionError
from dtflw.events import RunStatus
from dtflw.lineage import LineageGraph, LineageRecorder

NB = "/Users/tester@example.com/project/"


@pytest.fixture
def graph(storage, simulate):
    """Two flow runs of a diamond: raw → ingest → A → (left, right) → join → Report; plus an unrelated notebook."""
    recorder = LineageRecorder(storage)
    for year in ("2023", "2024"):
        flow = simulate(recorder)
        flow.run("bronze/ingest", outputs={"A": "parquet"}, args={"year": year}, tags=("bronze",))
        flow.run("silver/left", inputs=["A"], outputs={"L": "parquet"}, tags=("silver",))
        flow.run("silver/right", inputs=["A"], outputs={"R": "delta"}, tags=("silver", "pii"))
        flow.run("gold/join", inputs=["L", "R"], outputs={"Report": "delta"}, alias="KPIs")
        flow.run("misc/other", outputs={"Other": "parquet"})
        flow.end()
    recorder.flush()
    return LineageGraph.load(storage)


def ids(graph):
    return {n.path.removeprefix(NB) for n in graph.notebooks.values()} | {t.name for t in graph.tables.values()}


def test_history_latest_producer_and_runs_across_flow_runs(graph):
    flows = list(graph.flows.values())
    assert len(flows) == 2
    report = graph.find_tables("KPIs")[0]
    assert graph.find_tables("Report") == [report] and graph.find_tables(report.path) == [report]

    latest = graph.latest_producer("KPIs")
    assert latest.flow_run_id == flows[1].run_id
    assert [r.flow_run_id for r in graph.producers("Report")] == [f.run_id for f in flows]
    history = graph.history("R")
    assert [(e.kind, e.version) for e in history] == [
        ("produced", "v0"),
        ("consumed", "v0"),
        ("produced", "v1"),
        ("consumed", "v1"),
    ]
    runs = graph.runs_of("bronze/ingest")
    assert [r.args["year"] for r in runs] == ["2023", "2024"]
    assert graph.runs_of("ingest") == runs == graph.runs_of(NB + "bronze/ingest")
    assert graph.latest_run(NB + "bronze/ingest") is runs[-1]
    assert graph.latest_producer("NoSuchTable") is None


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("L", {"L"}),
        ("+L", {"L", "silver/left", "A", "bronze/ingest"}),
        ("L+", {"L", "gold/join", "Report"}),
        ("+L+", {"L", "silver/left", "A", "bronze/ingest", "gold/join", "Report"}),
        ("silver/left+", {"silver/left", "L", "gold/join", "Report"}),
        ("+KPIs", {"Report", "gold/join", "L", "R", "silver/left", "silver/right", "A", "bronze/ingest"}),
        ("tag:silver", {"silver/left", "silver/right"}),
        ("tag:pii+", {"silver/right", "R", "gold/join", "Report"}),
        ("L R", {"L", "R"}),
        ("L,R", {"L", "R"}),
        (" L , misc/other ", {"L", "misc/other"}),
        ("silver/*", {"silver/left", "silver/right"}),
        ("tag:si*", {"silver/left", "silver/right"}),
        ("O?her", {"Other"}),
        (NB + "misc/other", {"misc/other"}),
    ],
)
def test_select(graph, expr, expected):
    assert ids(graph.select(expr)) == expected


def test_selection_keeps_runs_and_edges_between_selected_nodes(graph):
    sub = graph.select("+L")
    assert {r.notebook_path for r in sub.runs.values()} == {NB + "bronze/ingest", NB + "silver/left"}
    assert len(sub.runs) == 4 and len(sub.flows) == 2
    assert {(e.kind, graph.tables[e.table].name) for e in sub.edges} == {
        ("produced", "A"),
        ("consumed", "A"),
        ("produced", "L"),
    }
    assert all(e.notebook in sub.notebooks and e.table in sub.tables for e in sub.edges)


def test_selection_of_a_table_alone_has_no_runs(graph):
    sub = graph.select("Report")
    assert list(sub.tables) == [graph.find_tables("Report")[0].path]
    assert (sub.runs, sub.edges, sub.flows) == ({}, [], {})


@pytest.mark.parametrize("expr", ["", "  ,  ", "+", "++L", "L++", "+", "tag:", "owner:bob", "L + R"])
def test_a_bad_selection_is_a_typed_error_listing_the_valid_forms(graph, expr):
    with pytest.raises(SelectionError) as raised:
        graph.select(expr)
    assert isinstance(raised.value, DtflwError) and isinstance(raised.value, ValueError)
    assert "+T (T and everything upstream)" in str(raised.value)
    assert "tag:NAME" in str(raised.value)


def test_a_selection_matching_nothing_names_the_term_and_known_names(graph):
    with pytest.raises(SelectionError, match=r"'Nope' matches no table or notebook.*Report"):
        graph.select("L Nope")


def test_from_runs_equals_load(graph):
    again = LineageGraph.from_runs(graph.flows.values(), graph.runs.values())
    assert list(again.runs) == list(graph.runs)
    assert again.links() == graph.links()
    assert "10 notebook runs" in repr(again)


def test_a_failed_run_is_no_producer(storage, simulate):
    recorder = LineageRecorder(storage)
    flow = simulate(recorder)
    flow.run("a", outputs={"T": "parquet"})
    flow.run("a", outputs={"T": "parquet"}, fail="boom")
    recorder.flush()
    graph = LineageGraph.load(storage)
    assert graph.latest_producer("T").run_id == flow.runs[0].run_id
    assert graph.runs[flow.runs[1].run_id].status == RunStatus.FAILED
    assert [e.kind for e in graph.history("T")] == ["produced"]
