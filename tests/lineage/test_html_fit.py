"""The HTML report on a screen: the whole graph fits and reads on load, labels are unambiguous, and a switch
shows the history of runs or the latest run only."""

from __future__ import annotations

import json
import re

import pytest

from dtflw.events import FlowRun, NotebookRun, RunStatus, TableUse, new_run_id
from dtflw.lineage import LineageGraph, render_html
from dtflw.lineage.labels import unique_labels
from lineage.chromium import dump_dom, find_chromium, page_url, screenshot  # tests/lineage helper

HOME = "/Users/tester@example.com/project"
STEPS = [  # (notebook path under HOME, how its flow called it, inputs, outputs) — the example's shape
    ("bronze/ingest", "ingest", ["raw/orders.csv"], ["bronze/Orders.parquet"]),
    ("landing/ingest", "ingest", ["raw/customers.csv"], ["landing/Customers.parquet"]),
    ("bronze/products", "bronze/products", ["raw/products.csv"], ["bronze/Products.parquet"]),
    (
        "silver/build_sales",
        "silver/build_sales",
        ["bronze/Orders.parquet", "landing/Customers.parquet", "bronze/Products.parquet"],
        ["silver/Sales.delta"],
    ),
    *[
        (f"gold/revenue_{n}", f"gold/revenue_{n}", ["silver/Sales.delta"], [f"gold/Revenue_{n}.parquet"])
        for n in "abcde"
    ],
    ("gold/kpi_report", "gold/kpi_report", [f"gold/Revenue_{n}.parquet" for n in "abc"], ["gold/Kpi.delta"]),
]


def _flow_run(started: float, skipped: bool) -> tuple[FlowRun, list[NotebookRun]]:
    flow = FlowRun(new_run_id(), f"{HOME}/main", "file:///lake", "", started=started, ended=started + 9)
    flow.status = RunStatus.SUCCEEDED
    runs = []
    for k, (path, rel, inputs, outputs) in enumerate(STEPS):
        run = NotebookRun(
            new_run_id(),
            flow.run_id,
            f"{HOME}/{path}",
            rel,
            {},
            [TableUse(p.rsplit("/", 1)[1].split(".")[0], f"/lake/{p}", "parquet") for p in inputs],
            [TableUse(p.rsplit("/", 1)[1].split(".")[0], f"/lake/{p}", p.rsplit(".", 1)[1]) for p in outputs],
            started=started + k * 0.5,
        )
        run.ended = run.started + 0.4
        run.status, run.reason = (RunStatus.SKIPPED, "up to date") if skipped else (RunStatus.SUCCEEDED, None)
        runs.append(run)
    return flow, runs


@pytest.fixture
def graph():
    """A full run, then a lazy no-op run that skipped everything."""
    full, full_runs = _flow_run(1_700_000_000.0, skipped=False)
    lazy, lazy_runs = _flow_run(1_700_000_100.0, skipped=True)
    return LineageGraph.from_runs([full, lazy], full_runs + lazy_runs)


def _data(page_text: str) -> dict:
    found = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', page_text, re.S)
    return json.loads(found.group(1))


def test_same_names_are_told_apart_by_the_end_of_their_paths():
    assert unique_labels([("ingest", "/u/a/bronze/ingest"), ("ingest", "/u/b/landing/ingest"), ("x", "/u/x")]) == [
        "bronze/ingest",
        "landing/ingest",
        "x",
    ]
    assert unique_labels([("T", "/l/a/T.parquet"), ("T", "/l/b/T.parquet")]) == ["a/T.parquet", "b/T.parquet"]


def test_nodes_carry_the_history_and_the_latest_run(graph):
    nodes = {n["key"]: n for n in _data(render_html(graph))["nodes"]}
    ingest = nodes[f"{HOME}/bronze/ingest"]
    assert ingest["name"] == "bronze/ingest" and nodes[f"{HOME}/landing/ingest"]["name"] == "landing/ingest"
    assert (ingest["status"], ingest["detail"]) == ("succeeded", "✓ succeeded · 0.4 s · 2 runs")
    assert ingest["latest"]["status"] == "skipped"
    assert nodes["/lake/silver/Sales.delta"]["latest"] is not None


needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="headless Chromium is not installed")


@pytest.mark.slow
@pytest.mark.chromium
@needs_chromium
@pytest.mark.parametrize("window", ["1280,800", "1920,1080"])
def test_the_whole_graph_fits_and_reads_on_load(graph, tmp_path, window):
    page = tmp_path / "report.html"
    page.write_text(render_html(graph), encoding="utf-8")
    dom, _ = dump_dom(page_url(str(page)), window=window)
    svg = re.search(r'<svg id="canvas"[^>]*>', dom).group(0)
    assert 'data-whole="true"' in svg
    assert float(re.search(r'data-text-px="([\d.]+)"', svg).group(1)) >= 11.0
    assert set(re.findall(r'data-key="([^"]+)"', dom)) == set(graph.notebooks) | set(graph.tables)
    names = re.findall(r'<text x="8" y="17">([^<]*)</text>', dom)
    assert "bronze/ingest" in names and "landing/ingest" in names and len(names) == len(set(names))
    assert set(re.findall(r'data-status="(\w+)"', dom)) == {"succeeded"}  # history: as the last real run left it
    latest, _ = dump_dom(page_url(str(page), view="latest"), window=window)
    assert set(re.findall(r'data-status="(\w+)"', latest)) == {"skipped"}
    png = tmp_path / f"report-{window.replace(',', 'x')}.png"
    screenshot(page_url(str(page)), str(png), window=window)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
