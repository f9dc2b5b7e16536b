"""The HTML report: self-contained, every text escaped, and — in headless Chromium — drawn, coloured and searchable."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser

import pytest

from dtflw.lineage import LineageGraph, LineageRecorder, export, render_html
from dtflw.lineage.labels import STATUS_COLOURS, TABLE_COLOURS
from lineage.chromium import dump_dom, find_chromium, page_url, screenshot  # tests/lineage helper

HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
needs_chromium = pytest.mark.skipif(
    find_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium; CI installs it)"
)


@pytest.fixture
def graph(storage, simulate):
    recorder = LineageRecorder(storage)
    flow = simulate(recorder)
    flow.run("bronze/ingest", outputs={"Orders": "parquet", "Items": "parquet"}, args={"year": "2024"}, rows=5)
    flow.run("bronze/customers", outputs={"Customers": "parquet"}, skip="up to date: every output exists")
    flow.run(
        "silver/build",
        inputs=["Orders", "Items", "Customers"],
        outputs={"Sales": "delta"},
        args={"note": HOSTILE},
        exit_value=HOSTILE,
        rows=12,
        tags=("silver",),
    )
    flow.run("gold/revenue", inputs=["Sales"], outputs={"Revenue": "parquet"})
    flow.run("gold/report", inputs=["Sales", "Revenue"], outputs={"Kpi": "parquet"}, fail=f"ValueError: {HOSTILE}")
    flow.run("misc/<b>bold</b>", outputs={"Other": "parquet"})
    flow.end()
    recorder.flush()
    return LineageGraph.load(storage)


def test_the_page_is_self_contained_and_escapes_every_text(graph):
    code = re.sub(r'(?s)<script type="application/json" id="lineage-data">.*?</script>', "", render_html(graph))
    assert not re.search(r"\b(src|href)\s*=|@import|url\((?!#arrow\))", code)  # loads nothing
    graph.problems.append(f"_dtflw/runs/{HOSTILE}.json: not valid JSON; skipped")
    page = render_html(graph, title=f"Report {HOSTILE}")
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls  # no CDN, no network
    assert page.count("<script") == 2  # the data block and the report's own script
    assert page.count("</script>") == 2
    assert "alert(" in page  # the hostile text is in the data...
    assert "<script>alert" not in page and "<img" not in page and "<b>bold" not in page  # ...never as markup
    assert "<title>Report &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "<li>_dtflw/runs/&lt;script&gt;alert(&quot;pwned&quot;)" in page


def test_export_html_writes_the_page(graph, tmp_path):
    out = tmp_path / "report.html"
    assert export(graph, "html", out_path=str(out), title="Sales") is None
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "<title>Sales</title>" in out.read_text(encoding="utf-8")


class Dom(HTMLParser):
    """What the report drew: node groups with their rect, edge paths, scripts, and texts by element id."""

    def __init__(self, text: str):
        super().__init__()
        self.nodes, self.edges, self.scripts, self.texts = [], 0, 0, {}
        self._open_ids: list[tuple[str, int]] = []
        self._depth = 0
        self._node = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._depth += 1
        if attrs.get("id"):
            self._open_ids.append((attrs["id"], self._depth))
            self.texts.setdefault(attrs["id"], "")
        if tag == "script":
            self.scripts += 1
        if tag == "g" and "node" in (attrs.get("class") or "").split():
            self._node = dict(attrs)
            self.nodes.append(self._node)
        elif tag == "rect" and self._node is not None and "fill" not in self._node:
            self._node["fill"] = attrs.get("fill")
        elif tag == "path" and "marker-end" in attrs:
            self.edges += 1
        if tag in ("rect", "path", "img", "input", "meta"):
            self._depth -= 1  # void or self-closed in the dump

    def handle_endtag(self, tag):
        if self._open_ids and self._open_ids[-1][1] == self._depth:
            self._open_ids.pop()
        self._depth -= 1

    def handle_data(self, data):
        for element_id, _ in self._open_ids:
            self.texts[element_id] += data

    def keys(self) -> set[str]:
        return {n["data-key"] for n in self.nodes}


@pytest.fixture
def page(graph, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render_html(graph), encoding="utf-8")
    return str(path)


def keys_of(graph) -> set[str]:
    return set(graph.notebooks) | set(graph.tables)


@pytest.mark.slow
@pytest.mark.chromium
@needs_chromium
def test_chromium_draws_every_node_with_its_status_colour(graph, page):
    dom = Dom(dump_dom(page_url(page, fit="1"))[0])
    assert dom.keys() == keys_of(graph)
    assert dom.edges == len(graph.links())
    statuses = {}
    for node in dom.nodes:
        if node["data-kind"] == "notebook":
            statuses[node["data-key"].rsplit("/project/", 1)[1]] = node["data-status"]
            assert node["fill"] == STATUS_COLOURS[node["data-status"]][0]
        else:
            assert node["fill"] == TABLE_COLOURS[0]
    assert statuses == {
        "bronze/ingest": "succeeded",
        "bronze/customers": "skipped",
        "silver/build": "succeeded",
        "gold/revenue": "succeeded",
        "gold/report": "failed",
        "misc/<b>bold</b>": "succeeded",
    }
    assert dom.texts["counts"] == f"6 of 6 notebooks, {len(graph.tables)} of {len(graph.tables)} tables"
    assert dom.scripts == 2


@pytest.mark.slow
@pytest.mark.chromium
@needs_chromium
@pytest.mark.parametrize("expr", ["+Sales", "Sales+", "+Revenue+", "tag:silver+, Other"])
def test_chromium_search_narrows_like_select(graph, page, expr):
    dom = Dom(dump_dom(page_url(page, q=expr, fit="1"))[0])
    expected = keys_of(graph.select(expr))
    assert dom.keys() == expected
    assert 0 < len(expected) < len(keys_of(graph))
    assert dom.texts["message"] == ""


@pytest.mark.slow
@pytest.mark.chromium
@needs_chromium
def test_chromium_reports_a_bad_selection_and_keeps_the_graph(graph, page):
    dom = Dom(dump_dom(page_url(page, q="++Sales", fit="1"))[0])
    assert "Selection not applied: bad term '++Sales'" in dom.texts["message"]
    assert "+T (with upstream)" in dom.texts["message"]
    assert dom.keys() == keys_of(graph)


@pytest.mark.slow
@pytest.mark.chromium
@needs_chromium
def test_chromium_details_show_hostile_text_as_text(graph, page):
    text, _ = dump_dom(page_url(page, open="silver/build"))
    dom = Dom(text)
    details = dom.texts["details"]
    assert "args: note=" + HOSTILE in details
    assert "exit value: " + HOSTILE in details
    assert dom.scripts == 2 and "<img" not in text  # nothing the data held became an element
    failed = Dom(dump_dom(page_url(page, open="gold/report"))[0])
    assert "error: ValueError: " + HOSTILE in failed.texts["details"]
    table = Dom(dump_dom(page_url(page, open="Sales"))[0]).texts["details"]
    assert "id bigint\nname string" in table and "v0 · 12 rows" in table


@pytest.mark.slow
@pytest.mark.chromium
@needs_chromium
def test_chromium_screenshot(graph, page, tmp_path):
    png = str(tmp_path / "report.png")
    screenshot(page_url(page, open="silver/build"), png)
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 20_000  # a drawn graph, not a blank page
    keep = os.environ.get("DTFLW_KEEP_SCREENSHOT")
    if keep:
        os.replace(png, keep)
