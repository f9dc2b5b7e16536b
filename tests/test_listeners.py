"""Flow start/end events, the logging listener and the webhook notifier (against a real HTTP server)."""

from __future__ import annotations

import http.server
import json
import logging
import socket
import threading
import time

import pytest

from dtflw.errors import ListenerError, NotebookFailedError
from dtflw.events import FlowListener, FlowRun
from dtflw.listeners import LoggingListener, WebhookNotifier


@pytest.fixture
def webhook():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


class FlowEnds(FlowListener):
    def __init__(self):
        self.events = []

    def on_flow_start(self, flow):
        self.events.append(("start", flow.notebook_path))

    def on_flow_end(self, flow):
        self.events.append(("end", flow.status.value))


def test_webhook_gets_failures_and_the_flow_summary_without_secrets(make_workspace, webhook):
    url, received = webhook
    ends = FlowEnds()
    ws = make_workspace(listeners=[WebhookNotifier(url, headers={"X-Token": "t"}), ends])
    ws.write("p/ok.py", "from dtflw import init_outputs\nspark.range(1).write.parquet(init_outputs('T')['T'].value)")
    ws.write("p/bad.py", "raise ValueError('no good')")
    ws.write(
        "p/main.py",
        """
from dtflw import init_flow
flow = init_flow()
flow.notebook("ok").args({"token": "hunter2"}, secret=["token"]).output("T").run()
flow.notebook("bad").input("T").run()
""",
    )
    with pytest.raises(NotebookFailedError, match="no good"):
        ws.run("p/main.py")
    assert [(path, kind, payload["event"]) for path, kind, payload in received] == [
        ("/hook", "application/json", "notebook_failed"),
        ("/hook", "application/json", "flow_ended"),
    ]
    failed, ended = received[0][2], received[1][2]
    assert failed["notebook"]["notebook"] == "/Users/tester@example.com/p/bad"
    assert "ValueError: no good" in failed["notebook"]["error"]
    assert ended["flow"]["status"] == "failed"
    assert ended["counts"] == {"succeeded": 1, "failed": 1, "skipped": 0, "cancelled": 0}
    assert "hunter2" not in json.dumps(received)
    assert ends.events == [("start", "/Users/tester@example.com/p/main"), ("end", "failed")]


def test_an_unreachable_webhook_is_logged_not_raised(make_workspace, caplog):
    ws = make_workspace(listeners=[WebhookNotifier("http://127.0.0.1:9/hook?sig=secret", timeout=1)])
    ws.write("p/main.py", "from dtflw import init_flow\nwith init_flow() as flow:\n    pass")
    ws.run("p/main.py")
    assert "dtflw webhook http://127.0.0.1:9 failed" in caplog.text
    assert "sig=secret" not in caplog.text and "/hook" not in caplog.text


def test_logging_listener_logs_every_event(make_workspace, caplog):
    caplog.set_level(logging.INFO, logger="dtflw.events")
    ws = make_workspace(listeners=[LoggingListener()])
    ws.write("p/nb.py", "pass")
    ws.write("p/main.py", "from dtflw import init_flow\nflow = init_flow()\nflow.notebook('nb').run(is_lazy=True)")
    ws.run("p/main.py")
    messages = [r.getMessage() for r in caplog.records if r.name == "dtflw.events"]
    assert messages[0].startswith("flow ") and "started in /Users/tester@example.com/p/main" in messages[0]
    assert messages[1] == "notebook /Users/tester@example.com/p/nb started (attempt 1) (no outputs to check)"
    assert messages[2].startswith("notebook /Users/tester@example.com/p/nb succeeded in ")
    assert messages[3].endswith(" succeeded")


@pytest.fixture
def trickling_webhook():
    """A webhook that answers one byte every 3 s (each read is quick: only a total deadline stops it)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(3)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_a_trickling_webhook_never_holds_the_pipeline_longer_than_its_deadline(trickling_webhook, caplog):
    notifier = WebhookNotifier(trickling_webhook, timeout=5, deadline=1.5)
    flow = FlowRun("flow-1", "/Users/u/main", "file:///tmp/s", "")
    started = time.monotonic()
    notifier.on_flow_end(flow)
    assert time.monotonic() - started < 3, "one read every 3 s under a 5 s read timeout: only the deadline stops it"
    assert "did not answer within its deadline of 1.5 s" in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX",
        "https://user:pa55word@127.0.0.1:9/hook",
        "http://127.0.0.1:9/webhookb2/tenant@id/IncomingWebhook/abc123secret/def?sig=s1gn",
    ],
)
def test_a_webhook_url_is_logged_as_scheme_and_host_only(url, caplog, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _local_only)
    notifier = WebhookNotifier(url, timeout=0.5, deadline=1)
    notifier.on_flow_end(FlowRun("flow-1", "/Users/u/main", "file:///tmp/s", ""))
    assert "dtflw webhook http" in caplog.text
    for part in ("secret", "pa55word", "user:", "s1gn", ":9/hook", "/services", "/webhookb2", "tenant@id"):
        assert part not in caplog.text and part not in repr(notifier)


def _local_only(host, *args, **kwargs):
    """Name resolution that sends nothing off this machine: every host is an unreachable local port."""
    raise socket.gaierror(f"name resolution of {host} is disabled in tests")


@pytest.mark.parametrize("url", ["https:///hook", "hooks.example.com/x", "ftp://h/x", "http://:80/x"])
def test_a_webhook_url_that_could_never_be_reached_is_a_typed_error_at_once(url):
    with pytest.raises(ListenerError, match="not an http\\(s\\) URL with a host"):
        WebhookNotifier(url)
