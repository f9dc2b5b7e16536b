"""Ready-made flow listeners: a logger of every event, and a webhook notifier."""

from __future__ import annotations

import json
import logging
import urllib.request

from dtflw.events import FlowListener, FlowRun, NotebookRun, RunStatus

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
    are already scrubbed of secrets. A webhook that cannot be reached is logged, never raised.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 5.0, on_failure: bool = True):
        self._url = url
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._timeout = timeout
        self._on_failure = on_failure
        self._runs: list[NotebookRun] = []

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

    def _post(self, payload: dict) -> None:
        request = urllib.request.Request(self._url, json.dumps(payload).encode(), self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                response.read()
        except OSError as e:
            _log.warning("dtflw webhook %s failed: %s", self._url.split("?", 1)[0], e)


def _flow(flow: FlowRun) -> dict:
    return {
        "run_id": flow.run_id,
        "notebook": flow.notebook_path,
        "storage": flow.storage_url,
        "status": flow.status.value,
        "started": flow.started,
        "ended": flow.ended,
    }


def _run(run: NotebookRun) -> dict:
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
