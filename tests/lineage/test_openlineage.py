"""OpenLineage export: every event valid against spec 2-0-2 and its facets' schemas, sent through real transports."""

from __future__ import annotations

import copy
import glob
import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dtflw.errors import DtflwError, LineageEmitError, LineageFormatError
from dtflw.events import RunStatus
from dtflw.lineage import LineageGraph, LineageRecorder, export
from dtflw.lineage.export_openlineage import SCHEMA_URLS, dataset_name, run_events, to_client_event
from lineage.olspec import SpecValidator, spec_dir  # tests/lineage helper


@pytest.fixture(scope="module")
def validator():
    return SpecValidator(_spec_dir())


def _spec_dir() -> str:
    return spec_dir() or pytest.skip("the OpenLineage 2-0-2 schemas (shared/reference/openlineage) are not here")


@pytest.fixture
def graph(storage, simulate):
    """A flow with succeeded, failed, skipped and still-running runs, and a nested flow."""
    recorder = LineageRecorder(storage)
    earlier = simulate(recorder)
    earlier.run("bronze/ingest", outputs={"Orders": "parquet"}, rows=5)
    flow = simulate(recorder)
    flow.run("bronze/ingest", outputs={"Orders": "parquet"}, skip="up to date: every output exists")
    opener = flow.run("silver/build", inputs=["Orders"], outputs={"Sales": "delta"}, args={"year": "2024"}, rows=7)
    nested = simulate(
        recorder, notebook_path="/Users/tester@example.com/project/silver/build", parent_run_id=opener.run_id
    )
    nested.run("silver/helper", inputs=["Orders"], outputs={"Helper": "parquet"}, tags=("pii",))
    nested.end()
    flow.run("gold/report", inputs=["Sales"], fail="ValueError: bad year", args={"year": "2024"})
    hanging = simulate(recorder)
    from dtflw.events import NotebookRun, new_run_id

    running = NotebookRun(new_run_id(), hanging.flow.run_id, "/Users/u/slow", "slow", {}, [], [])
    recorder.on_notebook_start(hanging.flow, running)
    recorder.flush()
    graph = LineageGraph.load(storage)
    graph.fixture = {"flow": flow, "nested": nested, "opener": opener, "hanging": hanging, "running": running}
    return graph


def test_every_event_is_valid_against_spec_2_0_2(graph, validator):
    events = run_events(graph)
    assert len(events) == 2 * 5 + 1 + 2 * 3 + 1  # notebook runs, the running one, flows, the hanging flow
    for event in events:
        assert validator.errors(event) == [], (event["eventType"], event["job"]["name"])


@pytest.mark.parametrize(
    "breakage",
    [
        lambda e: e["run"].pop("runId"),
        lambda e: e.update(eventType="DONE"),
        lambda e: e["run"].update(runId="not-a-uuid"),
        lambda e: e.update(eventTime="yesterday"),
        lambda e: e["job"]["facets"]["jobType"].pop("integration"),
        lambda e: e["run"]["facets"]["parent"]["run"].pop("runId"),
        lambda e: e["run"]["facets"]["parent"].pop("_producer"),
        lambda e: e["run"]["facets"]["errorMessage"].pop("programmingLanguage"),
        lambda e: e["outputs"].append({"namespace": "file"}),
    ],
)
def test_the_validator_rejects_a_broken_event(graph, validator, breakage):
    failed = next(e for e in run_events(graph) if e["eventType"] == "FAIL" and "errorMessage" in e["run"]["facets"])
    broken = copy.deepcopy(failed)
    breakage(broken)
    assert validator.errors(failed) == []
    assert validator.errors(broken) != []


def test_facet_schema_urls_are_those_of_the_reference_schemas():
    ids = {}
    for path in glob.glob(os.path.join(_spec_dir(), "*.json")):
        with open(path) as f:
            schema = json.load(f)
        ids[os.path.basename(path)[: -len(".json")]] = schema["$id"]
    for url in SCHEMA_URLS.values():
        base, _, pointer = url.partition("#/$defs/")
        assert base in ids.values(), url
        assert ids[pointer] == base, url


def by_run(events):
    runs = {}
    for event in events:
        runs.setdefault(event["run"]["runId"], []).append(event)
    return runs


def test_event_sequence_per_run(graph):
    fx = graph.fixture
    events = run_events(graph)
    runs = by_run(events)
    kinds = {rid: [e["eventType"] for e in evs] for rid, evs in runs.items()}
    status_of = {r.run_id: r.status for r in graph.runs.values()}
    for run_id, status in status_of.items():
        expected = {
            RunStatus.SUCCEEDED: ["START", "COMPLETE"],
            RunStatus.FAILED: ["START", "FAIL"],
            RunStatus.SKIPPED: ["START", "ABORT"],
            RunStatus.RUNNING: ["START"],
        }[status]
        assert kinds[run_id] == expected
    assert kinds[fx["flow"].flow.run_id] == ["START", "FAIL"]
    assert kinds[fx["nested"].flow.run_id] == ["START", "COMPLETE"]
    assert kinds[fx["hanging"].flow.run_id] == ["START"]
    times = [e["eventTime"] for e in events]
    assert times == sorted(times)
    flow_events = runs[fx["flow"].flow.run_id]
    assert events.index(flow_events[0]) < min(events.index(e) for r in fx["flow"].runs for e in runs[r.run_id])
    assert events.index(flow_events[-1]) > max(events.index(e) for r in fx["flow"].runs for e in runs[r.run_id])


def test_facets_of_notebook_runs(graph):
    fx = graph.fixture
    runs = by_run(run_events(graph, job_namespace="dtflw://adb-1.azuredatabricks.net"))
    flow_id = fx["flow"].flow.run_id
    start, complete = runs[fx["opener"].run_id]
    assert start["job"] == {
        "namespace": "dtflw://adb-1.azuredatabricks.net",
        "name": "/Users/tester@example.com/project/silver/build",
        "facets": {
            "jobType": {
                "_producer": start["producer"],
                "_schemaURL": SCHEMA_URLS["jobType"],
                "processingType": "BATCH",
                "integration": "DTFLW",
                "jobType": "NOTEBOOK",
            }
        },
    }
    parent = start["run"]["facets"]["parent"]
    assert parent["run"] == {"runId": flow_id} and parent["root"]["run"] == {"runId": flow_id}
    assert parent["job"]["name"] == "/Users/tester@example.com/project/main"
    assert start["run"]["facets"]["executionParameters"]["parameters"] == [{"key": "year", "value": "2024"}]
    assert [d["name"] for d in start["outputs"]] == [fx["flow"].tables["Sales"]]
    [sales] = complete["outputs"]
    assert sales["namespace"] == "file"
    assert sales["facets"]["schema"]["fields"] == [{"name": "id", "type": "bigint"}, {"name": "name", "type": "string"}]
    stats = sales["outputFacets"]["outputStatistics"]
    assert stats["rowCount"] == 7 and stats["fileCount"] == 1 and stats["size"] > 0
    assert sales["name"] == fx["flow"].tables["Sales"]

    failed = runs[fx["flow"].runs[-1].run_id][-1]
    assert failed["run"]["facets"]["errorMessage"]["message"] == "ValueError: bad year"
    assert failed["outputs"] == []
    skipped = runs[fx["flow"].runs[0].run_id][-1]
    assert {"key": "dtflw.skipped", "value": "up to date: every output exists", "source": "DTFLW"} in skipped["run"][
        "facets"
    ]["tags"]["tags"]


def test_a_nested_flow_is_a_child_of_the_notebook_run_that_opened_it(graph):
    fx = graph.fixture
    runs = by_run(run_events(graph))
    nested_start = runs[fx["nested"].flow.run_id][0]
    parent = nested_start["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == fx["opener"].run_id
    assert parent["job"]["name"] == fx["opener"].notebook_path
    assert parent["root"]["run"]["runId"] == fx["flow"].flow.run_id
    helper = runs[fx["nested"].runs[0].run_id][0]["run"]["facets"]["parent"]
    assert helper["run"]["runId"] == fx["nested"].flow.run_id
    assert helper["root"]["run"]["runId"] == fx["flow"].flow.run_id


@pytest.mark.parametrize(
    "path, workspace, expected",
    [
        (
            "abfss://data@acct.dfs.core.windows.net/analysis/p/Orders.parquet",
            None,
            ("abfss://data@acct.dfs.core.windows.net", "analysis/p/Orders.parquet"),
        ),
        (
            "wasbs://data@acct.blob.core.windows.net/analysis/p/Orders.parquet",
            None,
            ("wasbs://data@acct.dfs.core.windows.net", "analysis/p/Orders.parquet"),
        ),
        ("dbfs:/FileStore/u/p/Orders.parquet", None, ("dbfs", "/FileStore/u/p/Orders.parquet")),
        ("dbfs:/FileStore/x", "adb-1.7.azuredatabricks.net", ("dbfs://adb-1.7.azuredatabricks.net", "/FileStore/x")),
        ("/Volumes/main/sales/raw/Orders.delta", None, ("dbfs", "/Volumes/main/sales/raw/Orders.delta")),
        ("/tmp/storage/Orders.parquet", None, ("file", "/tmp/storage/Orders.parquet")),
        ("file:///tmp/storage/Orders.parquet", None, ("file", "/tmp/storage/Orders.parquet")),
        ("file:/tmp/storage/Orders.parquet", None, ("file", "/tmp/storage/Orders.parquet")),
        ("s3://bucket/k/Orders.parquet", None, ("s3://bucket", "k/Orders.parquet")),
    ],
)
def test_dataset_naming(path, workspace, expected):
    assert dataset_name(path, workspace) == expected


def _normalise(value):
    """Drop what openlineage-python adds empty (facets: {}, fields: [])."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def test_client_events_serialise_exactly_as_built(graph):
    from openlineage.client.serde import Serde

    for event in run_events(graph):
        assert _normalise(Serde.to_dict(to_client_event(event))) == _normalise(event)


@pytest.fixture
def openlineage_env(tmp_path, monkeypatch):
    """No OpenLineage configuration from this machine; the client's own env changes undone after."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()
    os.environ.update(saved)


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_emit_through_an_explicit_file_transport(graph, validator, tmp_path, openlineage_env):
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport

    target = tmp_path / "events.ndjson"
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(target), append=True)))
    assert export(graph, "openlineage", client=client) is None
    sent = read_lines(target)
    assert len(sent) == len(run_events(graph))
    for event in sent:
        assert validator.errors(event) == []
    built = run_events(graph)
    for event, ours in zip(sent, built):  # the client adds its own tags (its version) to ours
        sent_tags = event["run"]["facets"].pop("tags")["tags"]
        our_tags = ours["run"]["facets"].pop("tags", {"tags": []})["tags"]
        assert all(tag in sent_tags for tag in our_tags)
    assert [_normalise(e) for e in sent] == [_normalise(e) for e in built]


def test_emit_through_openlineage_yml(graph, validator, tmp_path, openlineage_env, monkeypatch):
    target = tmp_path / "from-yml.ndjson"
    config = tmp_path / "conf" / "openlineage.yml"
    config.parent.mkdir()
    config.write_text(f"transport:\n  type: file\n  log_file_path: {target}\n  append: true\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    export(graph, "openlineage", job_namespace="team-a")
    sent = read_lines(target)
    assert len(sent) == len(run_events(graph))
    assert {e["job"]["namespace"] for e in sent} == {"team-a"}
    assert all(validator.errors(e) == [] for e in sent)


class LineageServer:
    """A real HTTP server on 127.0.0.1 collecting the events POSTed to it."""

    def __init__(self, status=200):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    running = LineageServer()
    yield running
    running.close()


def test_emit_over_http_configured_by_openlineage_url(graph, validator, server, openlineage_env, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_URL", server.url)
    export(graph, "openlineage", select="+Sales")
    expected = run_events(graph.select("+Sales"))
    assert len(server.received) == len(expected) > 0
    for path, content_type, event in server.received:
        assert path == "/api/v1/lineage"
        assert content_type.startswith("application/json")
        assert validator.errors(event) == []
    assert [e["run"]["runId"] for _, _, e in server.received] == [e["run"]["runId"] for e in expected]


def test_a_refusing_backend_is_a_typed_error(graph, openlineage_env, monkeypatch):
    refusing = LineageServer(status=400)
    try:
        monkeypatch.setenv("OPENLINEAGE_URL", refusing.url)
        with pytest.raises(LineageEmitError, match=r"transport 'http' refused the START event of job") as raised:
            export(graph, "openlineage")
        assert isinstance(raised.value, DtflwError)
        assert len(refusing.received) == 1
    finally:
        refusing.close()


def test_a_client_without_a_transport_that_refuses_is_a_typed_error(graph):
    class Refusing:  # anything with `emit` is a client; only openlineage-python's has a `transport`
        def emit(self, event):
            raise ConnectionError("no backend")

    with pytest.raises(LineageEmitError, match=r"transport '\?' refused the START event of job .*ConnectionError"):
        export(graph, "openlineage", client=Refusing())


def test_openlineage_to_a_file(graph, validator, tmp_path):
    out = tmp_path / "out" / "events.jsonl"
    assert export(graph, "openlineage", out_path=str(out)) is None
    lines = read_lines(out)
    assert lines == run_events(graph)
    assert all(validator.errors(e) == [] for e in lines)


def test_unknown_format_lists_the_valid_ones(graph):
    with pytest.raises(LineageFormatError, match=r"'yaml'.*json, openlineage, mermaid, dot, html"):
        export(graph, "yaml")


def test_without_configuration_the_client_logs_events_to_the_console(graph, validator, openlineage_env, caplog):
    with caplog.at_level(logging.INFO, logger="openlineage.client.transport.console"):
        export(graph, "openlineage", select="Sales+")
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "openlineage.client.transport.console"]
    assert [e["run"]["runId"] for e in logged] == [e["run"]["runId"] for e in run_events(graph.select("Sales+"))]
    assert all(validator.errors(e) == [] for e in logged)
