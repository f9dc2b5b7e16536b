"""Running each notebook step as a Databricks one-time run (`jobs/runs/submit`), from a laptop or CI.

    runner = JobsRunner(WorkspaceClient(), base_path="/Users/me@x.com/project", compute=Compute("0101-abc"))
    runner.run("bronze/ingest", 3600, {"Orders_out": "abfss://…/Orders.parquet"})

A `Runner` (see `dtflw.core.runner`): it submits the notebook, waits for its task to end and returns
its exit value (read with `jobs/runs/get-output`, which gives at most the first 5 MB). It looks at the
run once right away, for its task's run id; then it polls the task with `runs/get-output`, whose
metadata holds the task's state: the answer that says the task ended carries its output (or error)
too, so a task costs no more calls than its looks. Terminal states
become dtflw errors naming the notebook, the task's error and the run page. databricks-sdk retries 429
and 503 itself, waiting as `Retry-After` says; this runner retries 500 and 504 too, with backoff — a
submission with the same idempotency token, so a retried submit never starts a second run. Ctrl-C in
the thread waiting cancels the remote run; `cancel_all()` cancels every run still active.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from dtflw.core.paths import normalize_workspace_path
from dtflw.deploy.export import Compute
from dtflw.errors import (
    ExitValueTooLargeError,
    NotebookCancelledError,
    NotebookFailedError,
    NotebookSkippedError,
    NotebookTimeoutError,
)

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service._internal import Wait
    from databricks.sdk.service.jobs import Run, RunOutput, RunTask

    TaskRun = Run | RunTask  # one task's run: a one-time run's (as runs/get-output's metadata), or a job run's task

T = TypeVar("T")

TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
SUCCEEDED = ("SUCCESS", "SUCCESS_WITH_FAILURES")
NOT_RUN = ("UPSTREAM_FAILED", "UPSTREAM_CANCELED", "EXCLUDED", "MAXIMUM_CONCURRENT_RUNS_REACHED", "DISABLED")
TASK_KEY = "notebook"
log = logging.getLogger("dtflw.deploy")


class JobsRunner:
    """Runs notebooks of a Databricks workspace as one-time job runs, through databricks-sdk.

    `client`: a `databricks.sdk.WorkspaceClient` (default: one configured by unified auth — env vars,
    `~/.databrickscfg`, the CLI's login). `base_path`: the workspace folder relative notebook paths
    resolve against. `compute`: an existing or new job cluster (default: serverless). `poll`: first and
    longest wait between two looks at a run, in seconds. `retries`: attempts of a call answered 500/504.
    """

    def __init__(
        self,
        client: WorkspaceClient | None = None,
        *,
        base_path: str = "/",
        compute: Compute | None = None,
        poll: tuple[float, float] = (1.0, 10.0),
        retries: int = 5,
        backoff: float = 1.0,
        run_name: str = "dtflw",
    ) -> None:
        self._client = client
        self.base_path = base_path
        self.compute = compute or Compute()
        self.poll = poll
        self.retries = retries
        self.backoff = backoff
        self.run_name = run_name
        self._active: dict[int, str] = {}  # remote run id → notebook path
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()
        self._cancelling = threading.Event()
        self._output_while_running = True  # whether runs/get-output answers for a task still running

    @property
    def client(self) -> WorkspaceClient:
        if self._client is None:
            from databricks.sdk import WorkspaceClient

            self._client = WorkspaceClient()
        return self._client

    def bind_caller(self, notebook_path: str) -> None:
        """`init_flow(runner=...)`: relative paths resolve against the folder of the notebook opening the flow."""
        self.base_path = notebook_path.rsplit("/", 1)[0] or "/"

    def run(
        self, path: str, timeout_seconds: int, arguments: dict[str, str], *, run_id: str | None = None
    ) -> str | None:
        """Submit the notebook at `path`, wait for its run to end, return its exit value."""
        notebook = normalize_workspace_path(path, self.base_path)
        if self._cancelling.is_set():
            raise NotebookCancelledError(f"Notebook '{notebook}' was not submitted: the runs were cancelled.", notebook)
        from databricks.sdk.errors.base import DatabricksError

        try:
            remote = self._submit(notebook, timeout_seconds, arguments, run_id)
            with self._lock:
                self._active[remote] = notebook
            try:
                run, output = self._wait(remote)
            except KeyboardInterrupt:
                self._cancel(remote)
                raise
            finally:
                with self._lock:
                    self._active.pop(remote, None)
            return self._outcome(run, output, notebook, timeout_seconds)
        except DatabricksError as e:
            code = f"{e.error_code}: " if e.error_code else ""
            raise NotebookFailedError(
                f"Notebook '{notebook}': the Databricks Jobs API refused the call ({type(e).__name__}, {code}{e}). "
                "Check the workspace URL, the token's permissions and the notebook path.",
                notebook,
            ) from e

    def cancel_all(self) -> None:
        """Cancel every remote run still active; runs waiting return NotebookCancelledError, none starts."""
        self._cancelling.set()
        with self._lock:
            active = list(self._active)
        for remote in active:
            self._cancel(remote)

    # -- the calls ------------------------------------------------------------------------------
    def _submit(self, notebook: str, timeout_seconds: int, arguments: dict[str, str], run_id: str | None) -> int:
        from databricks.sdk.service.compute import ClusterSpec
        from databricks.sdk.service.jobs import NotebookTask, Source, SubmitTask

        task = SubmitTask(
            task_key=TASK_KEY,
            notebook_task=NotebookTask(
                notebook_path=notebook, base_parameters=dict(arguments), source=Source.WORKSPACE
            ),
            existing_cluster_id=self.compute.existing_cluster_id,
            new_cluster=ClusterSpec.from_dict(self.compute.new_cluster) if self.compute.new_cluster else None,
            timeout_seconds=timeout_seconds or None,
        )
        token = uuid.uuid4().hex  # the same on every retry: at most one run is started
        name = f"{self.run_name} {notebook}" + (f" ({run_id})" if run_id else "")
        waiter = self._call(self.client.jobs.submit, run_name=name, tasks=[task], idempotency_token=token)
        remote = submitted_run_id(waiter)
        log.info("Submitted '%s' as run %s", notebook, remote)
        return remote

    def _wait(self, remote: int) -> tuple[Run, RunOutput]:
        """Wait for the run's task to end; return the run (as first seen: its id, its page) and the task's
        output, whose metadata is the ended task. Each look is `poll[0]` s after the previous one began,
        then ever less often, up to `poll[1]`."""
        delay = self.poll[0]
        look = time.monotonic()
        run = self._call(self.client.jobs.get_run, remote)
        while not run.tasks or run.tasks[0].run_id is None:  # the task is not listed yet
            look, delay = self._pause(remote, look, delay)
            run = self._call(self.client.jobs.get_run, remote)
        task_run_id = run.tasks[0].run_id
        output = self._call(self.client.jobs.get_run_output, task_run_id) if has_ended(run.tasks[0]) else None
        while output is None or not has_ended(_task_run(output)):
            look, delay = self._pause(remote, look, delay)
            output = self._look(remote, task_run_id)
        return run, output

    def _look(self, remote: int, task_run_id: int) -> RunOutput | None:
        """The task's output, whose metadata says whether it has ended (None: not yet). A workspace that
        refuses the output of a task still running (400) is asked for the run first, from then on."""
        if self._output_while_running:
            from databricks.sdk.errors import BadRequest

            try:
                return self._call(self.client.jobs.get_run_output, task_run_id)
            except BadRequest as e:
                log.info("runs/get-output refused a running task (%s): looking at runs/get first", e)
                self._output_while_running = False
        run = self._call(self.client.jobs.get_run, remote)
        assert run.tasks  # listed: `_wait` saw the task's run id
        return self._call(self.client.jobs.get_run_output, task_run_id) if has_ended(run.tasks[0]) else None

    def _pause(self, remote: int, look: float, delay: float) -> tuple[float, float]:
        """Wait until `delay` s after the last `look` began; return when the next look begins and the delay
        after it. Once the runs are being cancelled, cancel this one first (once), then wait for it to end."""
        pause = max(0.0, look + delay - time.monotonic())
        if self._cancelling.is_set():
            self._cancel(remote)
            time.sleep(pause)
        else:
            self._cancelling.wait(pause)
        return time.monotonic(), min(self.poll[1], delay * 1.5)

    def _cancel(self, remote: int) -> None:
        with self._lock:
            if remote in self._cancelled:
                return
            self._cancelled.add(remote)
        try:
            self._call(self.client.jobs.cancel_run, remote)
            log.info("Cancelled run %s", remote)
        except Exception as e:  # the run may have ended meanwhile; say so, do not mask the interruption
            log.warning("Could not cancel run %s: %s", remote, e)

    def _call(self, method: Callable[..., T], *args: object, **kwargs: object) -> T:
        return call_retrying(method, *args, retries=self.retries, backoff=self.backoff, **kwargs)

    # -- the outcome ----------------------------------------------------------------------------
    def _outcome(self, run: Run, output: RunOutput, notebook: str, timeout_seconds: int) -> str | None:
        """The exit value of the ended task (`output.metadata`), or its dtflw error naming the run's page."""
        where = f"run {run.run_id}: {run.run_page_url}" if run.run_page_url else f"run {run.run_id}"
        failure = task_failure(_task_run(output), notebook, where, lambda _: output.error, timeout_seconds)
        if failure is not None:
            raise failure
        notebook_output = output.notebook_output
        if notebook_output is None:
            return None
        if notebook_output.truncated:  # never a cut value passed on as the notebook's
            raise ExitValueTooLargeError(
                f"Notebook '{notebook}' exits with a value longer than runs/get-output returns (5 MB) ({where}). "
                "Write large results to a table and exit with its path.",
                notebook_path=notebook,
            )
        return notebook_output.result


def call_retrying(
    method: Callable[..., T], *args: object, retries: int = 5, backoff: float = 1.0, **kwargs: object
) -> T:
    """Call the SDK, retrying answers 500 and 504 with backoff (honouring Retry-After if sent)."""
    from databricks.sdk.errors import DeadlineExceeded, InternalError, TemporarilyUnavailable

    attempt = 1
    while True:
        try:
            return method(*args, **kwargs)
        except (InternalError, DeadlineExceeded, TemporarilyUnavailable) as e:
            if attempt > retries:
                raise
            wait = e.retry_after_secs if e.retry_after_secs is not None else backoff * 2 ** (attempt - 1)
            log.info("Retrying %s in %.1f s after: %s", method.__name__, wait, e)
            time.sleep(wait)
            attempt += 1


def submitted_run_id(waiter: Wait[Run]) -> int:
    """The id of the run `jobs.submit` started."""
    run_id: int = waiter.response.run_id  # type: ignore[attr-defined]  # databricks-sdk annotates Wait.response as the builtin any()
    return run_id


def _task_run(output: RunOutput) -> Run:
    """The task run an output is of (runs/get-output always sends it, as `metadata`)."""
    assert output.metadata is not None
    return output.metadata


def has_ended(run: TaskRun) -> bool:
    """Whether a run or task run is in a terminal life cycle state."""
    return bool(run.state and run.state.life_cycle_state and run.state.life_cycle_state.value in TERMINAL)


def task_error(client: WorkspaceClient, task: TaskRun) -> str | None:
    """The error a task run's notebook raised, as runs/get-output reports it (None if it has none)."""
    if task.run_id is None:
        return None
    try:
        return call_retrying(client.jobs.get_run_output, task.run_id).error
    except Exception as e:  # the run failed before it had an output: its state message says why
        log.debug("No output for run %s: %s", task.run_id, e)
        return None


def task_failure(
    task: TaskRun,
    notebook: str,
    where: str,
    error_of: Callable[[TaskRun], str | None],
    timeout_seconds: int = 0,
) -> NotebookFailedError | NotebookSkippedError | None:
    """The dtflw error of a task run in a terminal state (None if it succeeded); `error_of(task)` reads
    the notebook's own error, asked only for a failed task."""
    state = task.state
    assert state is not None and state.life_cycle_state is not None  # an ended task run has its state
    life = state.life_cycle_state.value
    result = state.result_state.value if state.result_state else None
    if life == "TERMINATED" and result in SUCCEEDED:
        return None
    message = state.state_message or ""
    if result == "TIMEDOUT":
        after = f" after {timeout_seconds} s" if timeout_seconds else ""
        return NotebookTimeoutError(f"Notebook '{notebook}' timed out{after} on Databricks ({where}).", notebook)
    if result == "CANCELED":
        return NotebookCancelledError(
            f"Notebook '{notebook}' was cancelled on Databricks ({where})" + (f": {message}" if message else "."),
            notebook,
        )
    if life == "SKIPPED" or result in NOT_RUN:
        return NotebookSkippedError(
            f"Notebook '{notebook}' was skipped on Databricks ({result or life}; {where})"
            + (f": {message}" if message else "."),
            notebook,
        )
    error = error_of(task) or message or f"{life} {result or ''}".strip()
    return NotebookFailedError(f"Notebook '{notebook}' failed on Databricks: {error} ({where}).", notebook)
