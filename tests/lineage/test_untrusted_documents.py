"""Issue 18, point 3: lineage documents on a storage are input from outside. NaN, infinities, 1e300,
40-digit integers, wrong types: `dtflw lineage show` and every export still work, and a document they
cannot use is skipped with a problem naming its file."""

from __future__ import annotations

import copy
import json
import os
import tempfile

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtflw.cli import main
from dtflw.lineage import LineageGraph, LineageRecorder, export, show_tree
from dtflw.lineage.document import runs_folder
from dtflw.storage.base import FolderStorage

from .conftest import FlowSimulator

FORMATS = ("json", "mermaid", "dot", "html")


def _base_document() -> dict:
    """A real document: three notebook runs (parquet, Delta, a failure) of one flow."""
    with tempfile.TemporaryDirectory() as folder:
        storage = FolderStorage(folder, root_dir="analysis")
        recorder = LineageRecorder(storage)
        flow = FlowSimulator(storage, recorder)
        flow.run("a", outputs={"A": "parquet"}, args={"year": "2024"}, exit_value="done", tags=("daily",))
        flow.run("b", inputs=["A"], outputs={"B": "delta"})
        flow.run("c", inputs=["B"], outputs={"C": "parquet"}, fail="ValueError: boom")
        flow.end()
        recorder.flush()
        (name,) = os.listdir(storage.get_abs_path(runs_folder(storage)))
        return json.loads(storage.read_text(f"{runs_folder(storage)}/{name}"))


BASE = _base_document()


def _paths(doc, prefix=()):
    yield prefix
    children = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in children:
        yield from _paths(value, (*prefix, key))


PATHS = [p for p in _paths(BASE) if p]
HOSTILE = st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, -1e300, 10**40, -(10**40), 2**64])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) | HOSTILE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _replaced(path, value) -> dict:
    doc = copy.deepcopy(BASE)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def _read_and_export(text: str) -> LineageGraph:
    """Load a storage holding `text` as its one document; show it and export it in every format."""
    with tempfile.TemporaryDirectory() as folder:
        storage = FolderStorage(folder, root_dir="analysis")
        path = f"{runs_folder(storage)}/{BASE['flow_run']['run_id']}.json"
        storage.write_text(path, text)
        graph = LineageGraph.load(storage)
        if not graph.flows:
            assert [p.split(": ")[0] for p in graph.problems] == [storage.get_abs_path(path)]
        show_tree(graph)
        for fmt in FORMATS:
            json.dumps(export(graph, fmt))
        export(graph, "openlineage", out_path=os.path.join(folder, "events.jsonl"))
        return graph


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), JSON)
def test_any_field_replaced_by_any_json_still_shows_and_exports(path, value):
    _read_and_export(json.dumps(_replaced(path, value)))


@settings(max_examples=60, deadline=None)
@given(JSON)
def test_any_json_as_a_document_still_shows_and_exports(doc):
    graph = _read_and_export(json.dumps(doc))
    assert not graph.flows


@pytest.mark.parametrize(
    "path, value",
    [
        (("flow_run", "started"), float("nan")),
        (("flow_run", "ended"), float("inf")),
        (("notebook_runs", 0, "started"), 1e300),
        (("notebook_runs", 0, "outputs", 0, "state", "size_bytes"), 10**40),
        (("notebook_runs", 1, "outputs", 0, "state", "version"), -(10**40)),
        (("notebook_runs", 0, "outputs", 0, "row_count"), "3"),
        (("notebook_runs", 0, "args"), {"year": 2024}),
        (("notebook_runs", 0, "error"), float("nan")),
        (("flow_run", "storage_url"), 10**40),
    ],
)
def test_the_cli_shows_and_exports_naming_a_document_it_skips(tmp_path, path, value):
    storage = FolderStorage(str(tmp_path / "s"))
    storage.write_text(f"{runs_folder(storage)}/good.json", json.dumps(BASE))
    bad = storage.get_abs_path(f"{runs_folder(storage)}/bad.json")
    storage.write_text(bad, json.dumps(_replaced(path, value)))
    runner = CliRunner()
    for command in (["show"], *(["export", "--format", fmt] for fmt in FORMATS)):
        result = runner.invoke(main, ["lineage", *command, "--storage", str(tmp_path / "s")])
        assert result.exit_code == 0, (command, result.output, result.exception)
        assert f"! skipped: {bad}: malformed document ({'.'.join(map(str, path))}" in result.stderr
        assert "parquet" in result.stdout  # the good document's tables
    assert len(LineageGraph.load(storage).flows) == 1
