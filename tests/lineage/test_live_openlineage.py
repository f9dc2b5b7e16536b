"""OpenLineage events sent while the flow runs, to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dtflw.lineage import live
from lineage.olspec import SpecValidator, spec_dir  # tests/lineage helper


class EventServer:
    """Collects POSTed events; GET /received answers [eventType, job name] of each so far."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def do_GET(self):
                body = json.dumps([[e["eventType"], e["job"]["name"]] for e in received]).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, within: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + within
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def lineage_env(tmp_path, monkeypatch):
    """No OpenLineage configuration but the test's; every change to the environment undone after."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            del os.environ[key]
    os.environ["HOME"] = str(tmp_path / "home")
    os.environ.pop("PWD", None)
    yield os.environ
    for sender in list(live._senders.values()):
        sender.close(1.0)
    live._senders.clear()
    os.environ.clear()
    os.environ.update(saved)


PRODUCER = """
dbutils.widgets.text("A_out", "")
spark.range(3).write.parquet(dbutils.widgets.get("A_out"))
"""

WATCHER = """
import json, time, urllib.request
seen = []
for _ in range(200):  # the events of notebook `a` reach the server while this flow still runs
    seen = json.load(urllib.request.urlopen(dbutils.widgets.get("url") + "/received", timeout=5))
    if ["COMPLETE", "/Users/tester@example.com/a"] in seen:
        break
    time.sleep(0.05)
dbutils.notebook.exit(json.dumps(seen))
"""


def test_events_arrive_while_the_flow_runs_in_order_and_valid(workspace, lineage_env):
    validator = SpecValidator(spec_dir() or pytest.skip("no OpenLineage 2-0-2 schemas here"))
    server = EventServer()
    try:
        lineage_env["OPENLINEAGE_URL"] = server.url
        workspace.write("a.py", PRODUCER)
        workspace.write("b.py", WATCHER)
        workspace.write(
            "main.py",
            f"""
            from dtflw import init_flow
            flow = init_flow()
            flow.notebook("a").output("A").run()
            dbutils.notebook.exit(flow.notebook("b").input("A").args({{"url": {server.url!r}}}).run())
            """,
        )
        seen_during_run = json.loads(workspace.run("main.py"))
        events = server.wait_for(6)
    finally:
        server.close()
    main, a, b = (f"/Users/tester@example.com/{n}" for n in ("main", "a", "b"))
    assert seen_during_run[:3] == [["START", main], ["START", a], ["COMPLETE", a]]
    assert [[e["eventType"], e["job"]["name"]] for e in events] == [
        ["START", main],
        ["START", a],
        ["COMPLETE", a],
        ["START", b],
        ["COMPLETE", b],
        ["COMPLETE", main],
    ]
    for event in events:
        assert validator.errors(event) == []
    assert events[1]["run"]["facets"]["parent"]["run"]["runId"] == events[0]["run"]["runId"]
    assert [o["name"].rsplit("/", 1)[-1] for o in events[2]["outputs"]] == ["A.parquet"]
    assert events[2]["outputs"][0]["outputFacets"]["outputStatistics"]["fileCount"] >= 1
    assert events[4]["inputs"][0]["name"] == events[2]["outputs"][0]["name"]


def test_a_dead_endpoint_costs_the_run_nothing(workspace, lineage_env):
    silent = socket.socket()  # accepts connections, never answers: a synchronous client would wait out its timeout
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    try:
        lineage_env["OPENLINEAGE_URL"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
        workspace.write("a.py", PRODUCER)
        workspace.write(
            "main.py",
            """
            from dtflw import init_flow
            flow = init_flow()
            for name in ("one", "two", "three"):
                flow.notebook("a").output("A", file_path=f"{name}/A.parquet").run()
            dbutils.notebook.exit("done")
            """,
        )
        started = time.monotonic()
        assert workspace.run("main.py") == "done"
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert elapsed < 4.0  # 8 events; the HTTP transport's timeout alone is 5 s per event
    (sender,) = live._senders.values()
    assert sender.sent == 0


def test_nothing_is_sent_without_configuration(workspace, lineage_env, tmp_path):
    assert live.live_listener() is None
    lineage_env["OPENLINEAGE_DISABLED"] = "true"
    lineage_env["OPENLINEAGE_URL"] = "http://127.0.0.1:9"
    assert live.live_listener() is None


def test_openlineage_yml_where_the_shell_started(lineage_env, tmp_path):
    target = tmp_path / "events.ndjson"
    (tmp_path / "openlineage.yml").write_text(f"transport:\n  type: file\n  log_file_path: {target}\n  append: true\n")
    lineage_env["PWD"] = str(tmp_path)
    listener = live.live_listener()
    assert listener is not None
    from dtflw.events import FlowRun, new_run_id

    flow = FlowRun(new_run_id(), "/Users/u/main", "file:///x", "")
    listener.on_flow_start(flow)
    assert listener._sender.flush(5.0)
    (event,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert (event["eventType"], event["job"]["name"]) == ("START", "/Users/u/main")


def test_a_broken_configuration_fails_nothing(workspace, lineage_env, tmp_path):
    config = tmp_path / "broken.yml"
    config.write_text("transport:\n  type: no.such.transport\n")
    lineage_env["OPENLINEAGE_CONFIG"] = str(config)
    workspace.write("main.py", "from dtflw import init_flow\ninit_flow()\ndbutils.notebook.exit('fine')")
    assert workspace.run("main.py") == "fine"
    (sender,) = live._senders.values()
    assert sender.flush(5.0) and sender.client is None and sender.dropped >= 1


def _file_client(path):
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport

    return OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(path), append=True)))


def test_nested_and_failed_flows_carry_parents_errors_and_no_secrets(simulate, tmp_path, lineage_env):
    from dtflw.events import RunStatus

    validator = SpecValidator(spec_dir() or pytest.skip("no OpenLineage 2-0-2 schemas here"))
    target = tmp_path / "events.ndjson"
    sender = live.EventSender(lambda: _file_client(target))
    listener = live.LiveOpenLineage(sender, secrets={"s3cr3t"})
    outer = simulate(listener)
    opener = outer.run("silver/build", outputs={"Sales": "parquet"}, args={"token": "s3cr3t"})
    nested = simulate(listener, notebook_path=opener.notebook_path, parent_run_id=opener.run_id)
    nested.run("silver/helper", outputs={"Helper": "parquet"})
    nested.end()
    outer.run("gold/report", inputs=["Sales"], fail="ValueError: s3cr3t leaked")
    outer.end(RunStatus.FAILED)
    assert sender.flush(10.0)
    text = target.read_text()
    assert "s3cr3t" not in text and "[REDACTED]" in text
    events = [json.loads(line) for line in text.splitlines()]
    assert [(e["eventType"], e["job"]["name"].rsplit("/", 1)[-1]) for e in events] == [
        ("START", "main"),
        ("START", "build"),
        ("COMPLETE", "build"),
        ("START", "build"),  # the nested flow, named after the notebook that opened it
        ("START", "helper"),
        ("COMPLETE", "helper"),
        ("COMPLETE", "build"),
        ("START", "report"),
        ("FAIL", "report"),
        ("FAIL", "main"),
    ]
    assert all(validator.errors(e) == [] for e in events)
    helper = events[4]["run"]["facets"]["parent"]
    assert helper["run"]["runId"] == events[3]["run"]["runId"]
    assert helper["root"]["run"]["runId"] == events[0]["run"]["runId"]
    assert events[3]["run"]["facets"]["parent"]["run"]["runId"] == events[1]["run"]["runId"]
    assert "gold/report" in events[-1]["run"]["facets"]["errorMessage"]["message"]


def test_a_full_queue_drops_events_without_waiting(lineage_env, monkeypatch):
    from dtflw.events import FlowRun, new_run_id

    release = threading.Event()

    class StuckClient:
        def emit(self, event):
            release.wait(10)

    monkeypatch.setattr(live, "QUEUE_SIZE", 2)
    sender = live.EventSender(StuckClient())
    flow = FlowRun(new_run_id(), "/Users/u/main", "file:///x", "")
    started = time.monotonic()
    for _ in range(6):
        sender.put("START", flow, None)
    assert time.monotonic() - started < 0.5
    assert sender.dropped >= 3
    release.set()
    assert sender.flush(5.0)
