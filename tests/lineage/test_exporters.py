"""json, mermaid and dot exports, the text tree, and the `export` entry point."""

from __future__ import annotations

import json
import re

import pytest

from dtflw.errors import SelectionError
from dtflw.lineage import LineageGraph, LineageRecorder, export, show_tree

HOSTILE = '<script>alert("x")</script> --> "]; \\ #35;'


@pytest.fixture
def graph(storage, simulate):
    recorder = LineageRecorder(storage)
    flow = simulate(recorder)
    flow.run("bronze/ingest", outputs={"Orders": "parquet"}, args={"year": "2024", "note": HOSTILE}, rows=5)
    flow.run("bronze/ingest2", outputs={"Customers": "parquet"}, skip="up to date: every output exists")
    flow.run(
        "silver/build", inputs=["Orders"], outputs={"Sales": "delta"}, alias="SalesLines", rows=7, exit_value=HOSTILE
    )
    flow.run('gold/we"ird<b>', inputs=["SalesLines"], outputs={'Odd"Name': "parquet"})
    flow.run("gold/report", inputs=["SalesLines"], outputs={"Kpi": "parquet"}, fail=f"ValueError: {HOSTILE}")
    flow.end()
    recorder.flush()
    graph = LineageGraph.load(storage)
    graph.flow = flow
    return graph


def test_json_export_follows_its_documented_schema(graph):
    doc = json.loads(export(graph, "json"))
    assert (doc["format"], doc["version"]) == ("dtflw-lineage-graph", 1)
    assert set(doc) == {"format", "version", "flows", "notebooks", "tables", "runs", "edges", "problems"}
    assert len(doc["flows"]) == 1 and doc["flows"][0]["status"] == "succeeded"
    assert doc["flows"][0]["started"].endswith("Z") and doc["flows"][0]["duration"] > 0
    assert [r["status"] for r in doc["runs"]] == ["succeeded", "skipped", "succeeded", "succeeded", "failed"]
    assert doc["runs"][1]["reason"] == "up to date: every output exists"
    assert doc["runs"][0]["args"] == {"year": "2024", "note": HOSTILE}
    assert doc["runs"][4]["error"] == f"ValueError: {HOSTILE}"
    sales = next(t for t in doc["tables"] if "Sales" in t["names"])
    assert sales["aliases"] == ["SalesLines"] and sales["format"] == "delta"
    [version] = sales["versions"]  # produced once, consumed twice: one version
    assert (version["version"], version["delta_version"], version["exists"], version["row_count"]) == ("v0", 0, True, 7)
    assert version["schema"] == [{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"}]
    assert version["modified_ms"] > 0 and version["file_count"] == 1 and version["size_bytes"] > 0
    edges = [e for e in doc["edges"] if e["table_path"] == sales["path"]]
    assert [(e["kind"], e["version"], e["fingerprint"]) for e in edges] == [
        ("produced", "v0", version["fingerprint"]),
        ("consumed", "v0", version["fingerprint"]),
        ("consumed", "v0", version["fingerprint"]),
    ]
    assert edges[0]["run_id"] == doc["runs"][2]["run_id"] and edges[1]["name"] == "SalesLines"
    assert set(edges[0]) == {
        "kind", "run_id", "notebook_path", "table_path", "name", "alias", "format", "version", "fingerprint",
    }  # fmt: skip
    customers = next(t for t in doc["tables"] if t["names"] == ["Customers"])
    assert [(v["version"], v["exists"], v["fingerprint"]) for v in customers["versions"]] == [("missing", False, None)]
    nb = next(n for n in doc["notebooks"] if n["path"].endswith("silver/build"))
    assert nb["run_ids"] == [doc["runs"][2]["run_id"]] and nb["rel_paths"] == ["silver/build"]


def test_export_writes_a_file_and_returns_none(graph, tmp_path):
    out = tmp_path / "nested" / "lineage.json"
    assert export(graph, "json", out_path=str(out)) is None
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(export(graph, "json"))


def test_export_applies_a_selection(graph):
    doc = json.loads(export(graph, "json", select="Kpi+"))
    assert [t["names"] for t in doc["tables"]] == [["Kpi"]]
    assert doc["runs"] == [] and doc["edges"] == []
    with pytest.raises(SelectionError):
        export(graph, "json", select="+")


def test_mermaid(graph):
    text = export(graph, "mermaid")
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = [line for line in lines if re.match(r"^  [nt]\d+\[", line)]
    assert len(nodes) == len(graph.notebooks) + len(graph.tables) == 10
    for line in nodes:  # one quoted label per node: nothing in it can end the string or open markup
        label = re.fullmatch(r'  [nt]\d+\[\(?"(.*)"\)?\]:::\w+', line).group(1)
        assert '"' not in label and "<" not in label.replace("<br/>", "")
    assert any(":::failed" in line and "report" in line for line in nodes)
    assert any(":::skipped" in line and "ingest2" in line for line in nodes)
    assert any("we#quot;ird#lt;b#gt;" in line for line in nodes)
    arrows = [line for line in lines if "-->" in line and "[" not in line]
    assert len(arrows) == len(graph.links())


def test_dot(graph):
    text = export(graph, "dot")
    assert text.startswith("digraph lineage {") and text.rstrip().endswith("}")
    quoted = re.compile(r'"(?:[^"\\]|\\.)*"')
    for line in text.splitlines()[3:-1]:  # every quote in a statement belongs to a well-formed string
        assert '"' not in quoted.sub("", line), line
    assert 'we\\"ird<b>' in text
    assert text.count(" -> ") == len(graph.links())
    assert 'fillcolor="#fde0e0"' in text  # the failed notebook


def test_show_tree(graph):
    text = show_tree(graph)
    flow = graph.flow
    assert text.splitlines()[0].startswith(f"flow run {flow.flow.run_id} · /Users/tester@example.com/project/main")
    assert "├── ✓ bronze/ingest · succeeded" in text
    assert "↷ bronze/ingest2 · skipped: up to date: every output exists" in text
    assert "✗ gold/report · failed" in text and "error: ValueError:" in text
    assert f"→ Sales as SalesLines  {flow.tables['SalesLines']}  (delta, v0, 7 rows)" in text
    assert f"← SalesLines  {flow.tables['SalesLines']}  (delta, v0, 7 rows)" in text
    assert text.rstrip().splitlines()[-1].startswith("    └── ")
    narrowed = show_tree(graph, select="+Sales")
    assert "bronze/ingest ·" in narrowed and "gold/report" not in narrowed


def test_show_tree_nests_flows_and_reports_problems(storage, simulate):
    recorder = LineageRecorder(storage)
    outer = simulate(recorder)
    opener = outer.run("analysis/main", args={"year": "2024"})
    inner = simulate(
        recorder, notebook_path="/Users/tester@example.com/project/analysis/main", parent_run_id=opener.run_id
    )
    inner.run("analysis/monthly", outputs={"Monthly": "parquet"})
    recorder.flush()
    folder = recorder.document_path(outer.flow.run_id).rsplit("/", 1)[0]
    with open(f"{folder}/junk.json", "w") as f:
        f.write("{")
    text = show_tree(LineageGraph.load(storage))
    lines = text.splitlines()
    assert lines[0].startswith(f"flow run {outer.flow.run_id}")
    assert lines[1].startswith("└── ✓ analysis/main")
    assert lines[2].startswith(f"    └── flow run {inner.flow.run_id}")
    assert lines[3].startswith("        └── ✓ analysis/monthly")
    assert lines[-1].startswith("! ") and "junk.json" in lines[-1]
    assert show_tree(LineageGraph()) == "No lineage recorded.\n"


def test_the_graph_exports_and_displays_itself(graph, tmp_path):
    assert graph.export("mermaid", select="Sales") == export(graph, "mermaid", select="Sales")
    shown = []
    graph.display(shown.append, select="+Sales")
    assert len(shown) == 1 and shown[0].startswith("<!DOCTYPE html>") and "silver/build" in shown[0]
