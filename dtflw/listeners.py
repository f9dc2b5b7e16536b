"""Ready-made flow listeners: a logger of every event, and a webhook notifier."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import threading
import urllib.parse
from typing import Any, cast

from dtflw.errors import ListenerError
from dtflw.events import FlowListener, FlowRun, NotebookRun, RunStatus
from dtflw.secrets import display_url, scrub

_log = logging.getLogger("dtflw")


class LoggingListener(FlowListener):
    """Logs flow and notebook events to a Python logger (default `dtflw.events`)."""

    def __init__(self, logger: logging.Logger | None = None):
        self._logger = logger or logging.getLogger("dtflw.events")

    def on_flow_start(self, flow: FlowRun) -> None:
        self._logger.info("flow %s started in %s on %s", flow.run_id, flow.notebook_path, flow.storage_url)

    def on_notebook_start(self, flow: FlowRun, run: NotebookRun) -> None:
        self._logger.info("notebook %s started (attempt %d)%s", run.notebook_path, run.attempt, _why(run))

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        level = logging.ERROR if run.status == RunStatus.FAILED else logging.INFO
        self._logger.log(
            level, "notebook %s %s in %.2fs%s%s", run.notebook_path, run.status.value, run.duration or 0.0, _why(run),
            f": {run.error}" if run.error else "",
        )  # fmt: skip

    def on_flow_end(self, flow: FlowRun) -> None:
        self._logger.info("flow %s %s", flow.run_id, flow.status.value)


def _why(run: NotebookRun) -> str:
    return f" ({run.reason})" if run.reason else ""


class WebhookNotifier(FlowListener):
    """POSTs a JSON summary to `url` when a notebook fails and when the flow ends.

    The summary holds run ids, paths, statuses, durations and errors — args are left out, and errors
    are already scrubbed of secrets. `timeout` bounds each network operation and `deadline` the whole
    notification: a webhook that is unreachable, fails, or answers too slowly is logged (as
    `scheme://host` only: its user-info, path and query may hold a token), never raised, and never
    holds the pipeline longer than `deadline` seconds.
    """

    def __init__(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        on_failure: bool = True,
        deadline: float = 10.0,
    ):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ListenerError(
                f"Webhook URL {display_url(url)!r} is not an http(s) URL with a host; give e.g. https://hooks.example.com/x."
            )
        self._url = url
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._timeout = timeout
        self._deadline = deadline
        self._on_failure = on_failure
        self._runs: list[NotebookRun] = []

    def __repr__(self) -> str:
        return f"WebhookNotifier({display_url(self._url)!r})"

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        self._runs.append(run)
        if self._on_failure and run.status == RunStatus.FAILED:
            self._post({"event": "notebook_failed", "flow": _flow(flow), "notebook": _run(run)})

    def on_flow_end(self, flow: FlowRun) -> None:
        runs = [r for r in self._runs if r.flow_run_id == flow.run_id]
        counts = {
            status.value: sum(r.status == status for r in runs) for status in RunStatus if status != RunStatus.RUNNING
        }
        self._post({"event": "flow_ended", "flow": _flow(flow), "counts": counts, "notebooks": [_run(r) for r in runs]})

    def _post(self, payload: dict[str, Any]) -> None:
        post = _Post(self._url, json.dumps(payload).encode(), self._headers, self._timeout)
        sender = threading.Thread(target=post.send, name="dtflw-webhook", daemon=True)
        sender.start()
        sender.join(self._deadline)
        if sender.is_alive():
            post.abort()
            _log.warning(
                "dtflw webhook %s did not answer within its deadline of %.1f s; notification abandoned",
                display_url(self._url),
                self._deadline,
            )
        elif post.error is not None:
            _log.warning(
                "dtflw webhook %s failed: %s", display_url(self._url), scrub(post.error, _url_parts(self._url))
            )


class _Post:
    """One HTTP POST that another thread can abort (its socket shut down) at a deadline."""

    def __init__(self, url: str, body: bytes, headers: dict[str, str], timeout: float):
        self._url, self._body, self._headers, self._timeout = url, body, headers, timeout
        self._connection: http.client.HTTPConnection | None = None
        self.error: str | None = None

    def send(self) -> None:
        try:
            parts = urllib.parse.urlsplit(self._url)
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            self._connection = kind(cast(str, parts.hostname), parts.port, timeout=self._timeout)  # checked at init
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            self._connection.request("POST", target, self._body, self._headers)
            response = self._connection.getresponse()
            response.read()
            if response.status >= 400:
                self.error = f"HTTP {response.status} {response.reason}"
        except (OSError, http.client.HTTPException, ValueError) as e:
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.abort()

    def abort(self) -> None:
        connection = self._connection
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in the sending thread
        if connection is not None:
            connection.close()


def _url_parts(url: str) -> set[str]:
    """The parts of a URL that may hold a credential, to scrub from error texts."""
    parts = urllib.parse.urlsplit(url)
    return {p for p in (url, parts.username, parts.password, parts.path, parts.query) if p and len(p) > 1}


def _flow(flow: FlowRun) -> dict[str, Any]:
    return {
        "run_id": flow.run_id,
        "notebook": flow.notebook_path,
        "storage": flow.storage_url,
        "status": flow.status.value,
        "started": flow.started,
        "ended": flow.ended,
    }


def _run(run: NotebookRun) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "notebook": run.notebook_path,
        "status": run.status.value,
        "attempt": run.attempt,
        "reason": run.reason,
        "duration": run.duration,
        "error": run.error,
        "outputs": [o.path for o in run.outputs],
    }
