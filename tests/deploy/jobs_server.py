"""A local stand-in for the Databricks Jobs REST API 2.2, running each notebook task with the local runtime.

The Jobs API has no local counterpart, so this server follows its documented shapes: `jobs/create`,
`jobs/get`, `jobs/list` (by `name`), `jobs/reset`, `jobs/run-now`, `jobs/runs/submit`, `jobs/runs/get`, `jobs/runs/get-output`, `jobs/runs/cancel`;
errors as `{"error_code", "message"}` (400 INVALID_PARAMETER_VALUE, 403 PERMISSION_DENIED, 404
ENDPOINT_NOT_FOUND, 429 with Retry-After, 500); a run goes PENDING → RUNNING → TERMINATED (or
INTERNAL_ERROR; a task not run is SKIPPED) with a result state; tasks start when their `depends_on`
have ended and their `run_if` holds; task `max_retries`/`min_retry_interval_millis`/`timeout_seconds`
(each attempt a task run of its own). A job's `parameters` take their values from `run-now`'s
`job_parameters` (else their defaults; `runs/get` shows them as `job_parameters`) and are pushed down
to every notebook task, winning over a base parameter of the same name. A notebook task gets its
`base_parameters` with the dynamic value references `{{job.id}}`, `{{job.name}}`, `{{job.run_id}}`,
`{{task.name}}`, `{{task.run_id}}`, `{{job.parameters.<name>}}`, `{{tasks.<key>.run_id}}`, `{{tasks.<key>.values.<name>}}` (task values
set by earlier tasks of the run; a task whose reference finds none fails) replaced, and the notebook context tags of a job task (`jobType`, `multitaskParentRunId`, `runId`, `taskKey`).
A `python_wheel_task` calls its package's entry point in this process (`importlib.metadata`), with its
`parameters` (or `named_parameters` as `--name=value`, job parameters pushed down) and a Spark session of the
workspace's engine passed as `spark=`/`environment=`; an exception or a non-zero exit fails it, the message as `error`.
Tests talk to it through the real databricks-sdk client. `fail(...)` makes the next calls of an
endpoint answer an error; `internal_error(notebook)` makes a notebook's task end in INTERNAL_ERROR.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from dtflw.errors import NotebookTimeoutError
from dtflw.local.imports import give_up_working_directory
from dtflw.local.workspace import _stop_session

API = "/api/2.2/jobs"
OUTPUT_CAP = 5 * 1024 * 1024  # runs/get-output returns the first 5 MB of an exit value
RUN_IF = ("ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED", "ALL_DONE", "AT_LEAST_ONE_FAILED", "ALL_FAILED")
OK = ("SUCCESS", "EXCLUDED")  # an excluded task counts as a success downstream
FAILED = ("FAILED", "TIMEDOUT", "UPSTREAM_FAILED", "CANCELED", "UPSTREAM_CANCELED")


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.error_code, self.message, self.retry_after = status, error_code, message, retry_after


def _now() -> int:
    return int(time.time() * 1000)


class TaskRun:
    def __init__(self, run_id: int, spec: dict, url: str):
        self.run_id = run_id
        self.spec = spec
        self.key = spec["task_key"]
        self.life = "PENDING"
        self.result: str | None = None
        self.message = ""
        self.output: dict = {}
        self.attempt = 0
        self.start = self.end = 0
        self.url = url
        self.thread: int | None = None  # the thread running its notebook

    @property
    def done(self) -> bool:
        return self.life in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")

    def finish(self, life: str, result: str, message: str = "", output: dict | None = None) -> None:
        self.life, self.result, self.message = life, result, message
        self.output = output or {}
        self.end = _now()

    def as_dict(self) -> dict:
        state = {"life_cycle_state": self.life, "state_message": self.message, "user_cancelled_or_timedout": False}
        if self.result:
            state["result_state"] = self.result
            state["user_cancelled_or_timedout"] = self.result in ("CANCELED", "TIMEDOUT")
        out = {**self.spec, "run_id": self.run_id, "state": state, "attempt_number": self.attempt}
        out.update(start_time=self.start, end_time=self.end, run_page_url=self.url)
        return out


class Run:
    def __init__(self, run_id: int, name: str, run_type: str, tasks: list[TaskRun], url: str, job_id=None):
        self.run_id, self.name, self.run_type, self.tasks, self.url, self.job_id = (
            run_id,
            name,
            run_type,
            tasks,
            url,
            job_id,
        )
        self.life = "PENDING"
        self.result: str | None = None
        self.message = "Waiting for cluster"
        self.start, self.end = _now(), 0
        self.cancelled = threading.Event()
        self.repairs: list[dict] = []
        self.parameters: list[dict] = []  # the job's parameters of this run: {name, default, value}

    def as_dict(self) -> dict:
        state = {"life_cycle_state": self.life, "state_message": self.message, "user_cancelled_or_timedout": False}
        if self.result:
            state["result_state"] = self.result
            state["user_cancelled_or_timedout"] = self.result == "CANCELED"
        out = {
            "run_id": self.run_id,
            "run_name": self.name,
            "run_type": self.run_type,
            "creator_user_name": "tester@example.com",
            "state": state,
            "start_time": self.start,
            "end_time": self.end,
            "run_page_url": self.url,
            "format": "MULTI_TASK",
            "tasks": [t.as_dict() for t in self.tasks],
        }
        if self.job_id is not None:
            out["job_id"] = self.job_id
        if self.parameters:
            out["job_parameters"] = self.parameters
        return out


class JobsServer:
    """The Jobs API on 127.0.0.1, running notebook tasks in `workspace` (a LocalWorkspace)."""

    def __init__(self, workspace, token: str = "dapi-local-test", pending_seconds: float = 0.05):
        self.workspace = workspace
        self.token = token
        self.pending_seconds = pending_seconds
        self.runs: dict[int, Run] = {}
        self.task_runs: dict[int, tuple[Run, TaskRun]] = {}
        self.jobs: dict[int, dict] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, endpoint, status)
        self._ids = itertools.count(1001)
        self._tokens: dict[str, int] = {}
        self._faults: list[dict] = []
        self._broken: set[str] = set()
        self._sparse = False  # runs/get leaves out the states it may lack
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a task ended
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.jobs = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> JobsServer:
        threading.Thread(target=self._httpd.serve_forever, name="jobs-server", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        for run in list(self.runs.values()):
            run.cancelled.set()
            _abandon(run.tasks)
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- test controls -------------------------------------------------------------------------
    def fail(self, endpoint, status, error_code, message="", retry_after=None, times=1, after=False):
        """Answer the next `times` calls of `endpoint` (e.g. "runs/get") with this error; `after`: once the
        call has taken effect (an answer lost on the way back)."""
        error = ApiError(status, error_code, message or f"{error_code} (injected)", retry_after)
        self._faults.append(dict(endpoint=endpoint, error=error, n=times, after=after))

    def internal_error(self, notebook_path: str) -> None:
        """Tasks of this notebook end in INTERNAL_ERROR (a failure of the service, not of the notebook)."""
        self._broken.add(notebook_path)

    def leave_out_states(self) -> None:
        """runs/get of a job run answers as the API may: no `result_state` for the run (the field is left out
        when it is not available), no `state` for a task still pending."""
        self._sparse = True

    def calls(self, endpoint: str) -> list[int]:
        """The HTTP statuses answered to `endpoint`, in order."""
        return [status for _, e, status in self.requests if e == endpoint]

    # -- the API -------------------------------------------------------------------------------
    def handle(self, method: str, endpoint: str, query: dict, body: dict, headers) -> dict:
        if endpoint.startswith("/.well-known/"):  # the SDK's host metadata: none here
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {endpoint}'")
        if headers.get("Authorization") != f"Bearer {self.token}":
            raise ApiError(403, "PERMISSION_DENIED", "Invalid access token.")
        fault = next((f for f in self._faults if f["endpoint"] == endpoint and f["n"] > 0), None)
        if fault is not None:
            fault["n"] -= 1
            if not fault["after"]:
                raise fault["error"]
        answer = self._route(method, endpoint, query, body)
        if fault is not None:  # the call took effect, then the answer was lost
            raise fault["error"]
        return answer

    def _route(self, method: str, endpoint: str, query: dict, body: dict) -> dict:
        routes = {
            ("POST", "runs/submit"): self._submit,
            ("GET", "runs/get"): self._get,
            ("GET", "runs/get-output"): self._get_output,
            ("POST", "runs/cancel"): self._cancel,
            ("POST", "runs/repair"): self._repair,
            ("POST", "create"): self._create,
            ("POST", "run-now"): self._run_now,
            ("GET", "get"): self._get_job,
            ("GET", "list"): self._list_jobs,
            ("POST", "reset"): self._reset_job,
        }
        route = routes.get((method, endpoint))
        if route is None:
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {API}/{endpoint}'")
        return route(query if method == "GET" else body)

    def _submit(self, body: dict) -> dict:
        token = body.get("idempotency_token")
        with self._lock:
            if token and token in self._tokens:
                return {"run_id": self._tokens[token]}
            run = self._start(body.get("run_name") or "Untitled", "SUBMIT_RUN", self._checked_tasks(body))
            if token:
                self._tokens[token] = run.run_id
        return {"run_id": run.run_id}

    def _create(self, body: dict) -> dict:
        self._checked_tasks(body)
        if not body.get("name"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "Missing required field: name")
        with self._lock:
            job_id = next(self._ids)
            self.jobs[job_id] = body
        return {"job_id": job_id}

    def _job(self, job_id) -> dict:
        try:
            return self.jobs[int(job_id)]
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Job {job_id} does not exist.") from None

    def _as_job(self, job_id: int) -> dict:
        settings = {k: v for k, v in self._job(job_id).items() if k != "access_control_list"}
        return {"job_id": job_id, "creator_user_name": "tester@example.com", "created_time": 0, "settings": settings}

    def _get_job(self, query: dict) -> dict:
        self._job(query.get("job_id"))
        return self._as_job(int(query["job_id"]))

    def _list_jobs(self, query: dict) -> dict:
        name = query.get("name")
        found = [self._as_job(i) for i, job in sorted(self.jobs.items()) if name in (None, job.get("name"))]
        return {"jobs": found, "has_more": False} if found else {"has_more": False}

    def _reset_job(self, body: dict) -> dict:
        self._job(body.get("job_id"))
        self._checked_tasks(body.get("new_settings") or {})
        self.jobs[int(body["job_id"])] = body["new_settings"]
        return {}

    def _run_now(self, body: dict) -> dict:
        job = self.jobs.get(body.get("job_id"))
        if job is None:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Job {body.get('job_id')} does not exist.")
        given = body.get("job_parameters") or {}
        defined = {p["name"]: p.get("default", "") for p in job.get("parameters", [])}
        unknown = sorted(set(given) - set(defined))
        if unknown:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Job parameters {unknown} are not defined in the job.")
        parameters = [{"name": n, "default": d, "value": given.get(n, d)} for n, d in defined.items()]
        with self._lock:
            run = self._start(job["name"], "JOB_RUN", job["tasks"], job_id=body["job_id"], parameters=parameters)
        return {"run_id": run.run_id, "number_in_job": run.run_id}

    def _checked_tasks(self, body: dict) -> list[dict]:
        tasks = body.get("tasks")
        if not tasks:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "Missing required field: tasks")
        keys = [t.get("task_key") for t in tasks]
        if not all(keys) or len(set(keys)) != len(keys):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Task keys must be given and unique: {keys}")
        for task in tasks:
            if "python_wheel_task" in task:
                _check_wheel_task(task)
            else:
                notebook = task.get("notebook_task")
                if not notebook or not str(notebook.get("notebook_path", "")).startswith("/"):
                    raise ApiError(
                        400,
                        "INVALID_PARAMETER_VALUE",
                        f"Task {task['task_key']}: notebook_task needs an absolute path.",
                    )
            unknown = [d["task_key"] for d in task.get("depends_on", []) if d["task_key"] not in keys]
            if unknown:
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Task {task['task_key']} depends on unknown {unknown}")
            if task.get("run_if", "ALL_SUCCESS") not in RUN_IF:
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid run_if: {task['run_if']}")
        return tasks

    def _start(self, name: str, run_type: str, tasks: list[dict], job_id=None, parameters=()) -> Run:
        run_id = next(self._ids)
        task_runs = []
        for spec in tasks:
            task_id = next(self._ids)
            task_runs.append(TaskRun(task_id, spec, f"{self.url}/#job/run/{run_id}/task/{task_id}"))
        run = Run(run_id, name, run_type, task_runs, f"{self.url}/#job/run/{run_id}", job_id)
        run.parameters = list(parameters)
        self.runs[run_id] = run
        for task in task_runs:
            self.task_runs[task.run_id] = (run, task)
        threading.Thread(target=self._execute, args=(run,), name=f"jobs-run-{run_id}", daemon=True).start()
        return run

    def _find(self, query: dict) -> tuple[Run, TaskRun | None]:
        try:
            run_id = int(query.get("run_id"))
        except (TypeError, ValueError):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "Missing required field: run_id") from None
        if run_id in self.runs:
            return self.runs[run_id], None
        if run_id in self.task_runs:
            return self.task_runs[run_id]
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")

    def _get(self, query: dict) -> dict:
        run, task = self._find(query)
        with self._lock:
            if task:
                return task.as_dict()
            out = run.as_dict()
            if self._sparse:
                out["state"].pop("result_state", None)
                for t in out["tasks"]:
                    if t["state"]["life_cycle_state"] == "PENDING":
                        del t["state"]
            if str(query.get("include_history")).lower() == "true":
                out["repair_history"] = [{"type": "ORIGINAL", "start_time": run.start}] + run.repairs
            return out

    def _repair(self, body: dict) -> dict:
        run, task = self._find(body)
        with self._lock:
            if task is not None or run.life != "TERMINATED":
                raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {run.run_id} is not an ended job run.")
            latest = run.repairs[-1]["id"] if run.repairs else None
            if body.get("latest_repair_id") != latest:
                raise ApiError(
                    400, "INVALID_PARAMETER_VALUE", f"The latest repair of run {run.run_id} is {latest}: pass it."
                )
            if body.get("rerun_all_failed_tasks"):
                keys = {t.key for t in run.tasks if t.result not in OK}
            else:
                keys = set(body.get("rerun_tasks") or [])
            if not keys:
                raise ApiError(400, "INVALID_PARAMETER_VALUE", "No task to repair.")
            for t in run.tasks:
                if t.key in keys:
                    del self.task_runs[t.run_id]
                    t.run_id = next(self._ids)
                    t.life, t.result, t.message, t.output, t.attempt, t.end = "PENDING", None, "", {}, 0, 0
                    self.task_runs[t.run_id] = (run, t)
            repair_id = next(self._ids)
            run.repairs.append({"type": "REPAIR", "id": repair_id, "start_time": _now(), "task_run_ids": []})
            run.life, run.result, run.end = "PENDING", None, 0
            run.cancelled.clear()
        threading.Thread(target=self._execute, args=(run,), daemon=True).start()
        return {"repair_id": repair_id}

    def _get_output(self, query: dict) -> dict:
        run, task = self._find(query)
        if task is None:
            raise ApiError(
                400,
                "INVALID_PARAMETER_VALUE",
                "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output "
                "of each individual task run instead.",
            )
        with self._lock:
            return {"metadata": task.as_dict(), **task.output}

    def _cancel(self, body: dict) -> dict:
        run, task = self._find(body)
        with self._lock:
            run.cancelled.set()
            _abandon([t for t in run.tasks if not t.done])
            for t in run.tasks:
                if not t.done:
                    t.finish("TERMINATED", "CANCELED", "Run cancelled.")
            self._changed.notify_all()
        return {}

    # -- running -------------------------------------------------------------------------------
    def _execute(self, run: Run) -> None:
        time.sleep(self.pending_seconds)
        with self._lock:
            run.life, run.message = "RUNNING", "In run"
        by_key = {t.key: t for t in run.tasks}
        started: set[str] = set()
        with self._changed:
            while not all(t.done for t in run.tasks):
                for task in run.tasks:
                    if task.key in started or task.done:
                        continue
                    deps = [by_key[d["task_key"]] for d in task.spec.get("depends_on", [])]
                    if not all(d.done for d in deps):
                        continue
                    started.add(task.key)
                    verdict = _run_if(task.spec.get("run_if", "ALL_SUCCESS"), [d.result for d in deps])
                    if verdict is not None:
                        task.finish("SKIPPED", verdict, f"Skipped: run_if {task.spec.get('run_if', 'ALL_SUCCESS')}")
                        continue
                    threading.Thread(target=self._run_task, args=(run, task), daemon=True).start()
                self._changed.wait(0.05)
            results = [t.result for t in run.tasks]
            leaves = {t.key for t in run.tasks} - {
                d["task_key"] for t in run.tasks for d in t.spec.get("depends_on", [])
            }
            if run.cancelled.is_set():
                result = "CANCELED"
            elif all(r in OK for r in results):
                result = "SUCCESS"
            elif all(by_key[k].result in OK for k in leaves):
                result = "SUCCESS_WITH_FAILURES"
            else:
                result = "FAILED"
            run.life, run.result, run.end = "TERMINATED", result, _now()
            failed = [t.key for t in run.tasks if t.result not in OK]
            run.message = "" if result == "SUCCESS" else f"Task(s) {', '.join(failed)} did not succeed."

    def _run_task(self, run: Run, task: TaskRun) -> None:
        spec = task.spec
        retries = spec.get("max_retries", 0)
        task.thread = threading.get_ident()
        while True:
            with self._lock:
                if task.done:  # cancelled meanwhile
                    return
                task.life, task.start = "RUNNING", _now()
            if "python_wheel_task" in spec:
                outcome = self._run_wheel(spec["python_wheel_task"], run, task)
            else:
                outcome = self._run_notebook(spec["notebook_task"], spec.get("timeout_seconds", 0), run, task)
            with self._lock:
                if task.done or run.cancelled.is_set():
                    return  # cancelled while the notebook ran: its result is dropped
                if outcome[1] != "FAILED" or task.attempt >= retries:
                    task.finish(*outcome)
                    self._changed.notify_all()
                    return
                task.attempt += 1
                task.life, task.message = "PENDING", "Waiting for retry"
                task.run_id = next(self._ids)  # every attempt is a run of its own
                self.task_runs[task.run_id] = (run, task)
            time.sleep(spec.get("min_retry_interval_millis", 0) / 1000)

    def _task_value(self, task_key: str, name: str) -> str:
        """A task value set by an earlier task (a string as is, another value as JSON); LookupError if none."""
        found = self.workspace.task_values.find(task_key, name)
        if found is None:
            raise LookupError(f"Task value '{name}' of task '{task_key}' was not set: cannot resolve the reference.")
        value = json.loads(found)
        return value if isinstance(value, str) else found

    def _references(self, run: Run, task: TaskRun) -> dict[str, str]:
        """The dynamic value references a task's parameters may hold, with their values for this task run."""
        return {
            "job.id": str(run.job_id or ""),
            "job.name": run.name,
            "job.run_id": str(run.run_id),
            "task.name": task.key,
            "task.run_id": str(task.run_id),
            **{f"job.parameters.{p['name']}": p["value"] for p in run.parameters},
            **{f"tasks.{t.key}.run_id": str(t.run_id) for t in run.tasks if t.start},
        }

    def _tags(self, run: Run, task: TaskRun) -> dict[str, str]:
        """The notebook context of a job task (as `getContext().tags()` shows it on Databricks)."""
        return {
            "jobId": str(run.job_id or ""),
            "jobType": "NORMAL",
            "multitaskParentRunId": str(run.run_id),
            "runId": str(task.run_id),
            "taskKey": task.key,
        }

    def _run_wheel(self, wheel: dict, run: Run, task: TaskRun) -> tuple:
        """A `python_wheel_task`: its package's entry point called in this process with its arguments
        (`named_parameters` as `--name=value`, job parameters pushed down; or `parameters` as given) and a Spark
        session of the workspace's engine, as the task's compute would give it."""
        references = self._references(run, task)
        try:
            if "named_parameters" in wheel:
                named = {
                    k: _replace_references(v, references, self._task_value)
                    for k, v in wheel["named_parameters"].items()
                }
                named.update({p["name"]: p["value"] for p in run.parameters})
                argv = [f"--{k}={v}" for k, v in named.items()]
            else:
                argv = [_replace_references(v, references, self._task_value) for v in wheel.get("parameters", [])]
            entry = _entry_point(wheel["package_name"], wheel["entry_point"])
        except LookupError as e:
            return "INTERNAL_ERROR", "FAILED", str(e), {}
        runtime = self.workspace.runtime_for(self.workspace.home, {}, None, context_tags=self._tags(run, task))
        try:
            entry(argv, spark=runtime.spark, environment=runtime.storage_environment())
        except SystemExit as e:
            if e.code not in (None, 0):
                return _failed(e)
        except Exception as e:
            return _failed(e)
        finally:
            if runtime.spark_started:
                _stop_session(runtime.spark)
        return "TERMINATED", "SUCCESS", "", {}

    def _run_notebook(self, notebook: dict, timeout_seconds: int, run: Run, task: TaskRun) -> tuple:
        path = notebook["notebook_path"]
        if path in self._broken:
            return "INTERNAL_ERROR", "FAILED", "Could not reach the driver of the cluster.", {}
        references = self._references(run, task)
        try:
            parameters = {
                k: _replace_references(v, references, self._task_value)
                for k, v in notebook.get("base_parameters", {}).items()
            }
        except LookupError as e:
            return "INTERNAL_ERROR", "FAILED", str(e), {}
        parameters.update({p["name"]: p["value"] for p in run.parameters})  # pushed down: a job parameter wins
        tags = self._tags(run, task)
        try:
            value = self.workspace.run(path, parameters, timeout_seconds or 0, context_tags=tags)
        except NotebookTimeoutError as e:
            return "TERMINATED", "TIMEDOUT", f"Task timed out: {e}", {}
        except Exception as e:
            return _failed(e)
        if value is None:
            return "TERMINATED", "SUCCESS", "", {"notebook_output": {}}
        text = str(value)
        output = {"result": text[:OUTPUT_CAP], "truncated": len(text) > OUTPUT_CAP}
        return "TERMINATED", "SUCCESS", "", {"notebook_output": output}


def _failed(error: BaseException) -> tuple:
    """A task run that failed with `error`: its message and trace in `runs/get-output`."""
    output = {"error": f"{type(error).__name__}: {error}", "error_trace": "".join(traceback.format_exception(error))}
    return "TERMINATED", "FAILED", "Workload failed, see run output for details", output


def _check_wheel_task(task: dict) -> None:
    wheel = task["python_wheel_task"]
    if not wheel.get("package_name") or not wheel.get("entry_point"):
        raise ApiError(
            400,
            "INVALID_PARAMETER_VALUE",
            f"Task {task['task_key']}: python_wheel_task needs package_name and entry_point.",
        )
    if wheel.get("named_parameters") and wheel.get("parameters"):
        raise ApiError(
            400, "INVALID_PARAMETER_VALUE", f"Task {task['task_key']}: give named_parameters or parameters, not both."
        )


def _entry_point(package: str, name: str):
    """The function entry point `name` of installed package `package` names (its metadata's entry points)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        found = [ep for ep in distribution(package).entry_points if ep.name == name]
    except PackageNotFoundError:
        raise LookupError(f"Library installation failed: package {package!r} is not installed.") from None
    if not found:
        raise LookupError(f"Package {package!r} has no entry point {name!r}.")
    return found[0].load()


def _replace_references(value: str, references: dict[str, str], task_value=None) -> str:
    """A parameter value with its dynamic value references (`{{job.run_id}}`…, `{{tasks.<key>.values.<name>}}`)
    replaced; an unknown one is left as written, as Databricks leaves a malformed one."""

    def replaced(match) -> str:
        task = re.fullmatch(r"tasks\.([\w-]+)\.values\.([\w.-]+)", match[1])
        if task and task_value is not None:
            return task_value(task[1], task[2])
        return references.get(match[1], match[0])

    return re.sub(r"\{\{\s*([\w.-]+)\s*\}\}", replaced, value)


def _run_if(condition: str, upstream: list[str | None]) -> str | None:
    """None if the task runs; else the result state of the skipped task."""
    if not upstream:
        return None
    ok = [r in OK for r in upstream]
    failed = [r in FAILED for r in upstream]
    holds = {
        "ALL_SUCCESS": all(ok),
        "AT_LEAST_ONE_SUCCESS": any(ok),
        "NONE_FAILED": not any(r in ("FAILED", "TIMEDOUT") for r in upstream),
        "ALL_DONE": True,
        "AT_LEAST_ONE_FAILED": any(failed),
        "ALL_FAILED": all(failed),
    }[condition]
    if holds:
        return None
    if condition == "ALL_SUCCESS":
        return (
            "UPSTREAM_CANCELED" if any(r in ("CANCELED", "UPSTREAM_CANCELED") for r in upstream) else "UPSTREAM_FAILED"
        )
    return "EXCLUDED"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        jobs: JobsServer = self.server.jobs
        url = urlparse(self.path)
        endpoint = url.path[len(API) + 1 :] if url.path.startswith(API + "/") else url.path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {}
        try:
            body = json.loads(raw) if raw else {}
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            payload, status = jobs.handle(method, endpoint, query, body, self.headers), 200
        except ApiError as e:
            payload, status = {"error_code": e.error_code, "message": e.message}, e.status
            if e.retry_after is not None:
                headers["Retry-After"] = str(e.retry_after)
        except json.JSONDecodeError as e:
            payload, status = {"error_code": "MALFORMED_REQUEST", "message": f"Invalid JSON: {e}"}, 400
        jobs.requests.append((method, endpoint, status))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _abandon(tasks) -> None:
    """Notebooks of cancelled tasks may still run (a fake cannot kill a thread): they no longer hold the
    process's working directory, as on a cluster their process would be gone."""
    for task in tasks:
        if task.thread:
            give_up_working_directory(task.thread)


def use_profile(jobs: JobsServer, folder, monkeypatch) -> None:
    """Make a databricks config profile `local` for this server the Databricks config in sight (the deploy
    tests' conftest removes any other)."""
    config = folder / "databrickscfg"
    config.write_text(f"[local]\nhost = {jobs.url}\ntoken = {jobs.token}\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))


def deploy_run(workspace, *extra, user="tester@example.com"):
    """`dtflw deploy run p/main.py` of a test workspace through profile `local`."""
    from click.testing import CliRunner

    from dtflw.cli import main

    arguments = [
        "deploy",
        "run",
        str(workspace.root / "p/main.py"),
        "--profile",
        "local",
        "--poll",
        "0.02",
        "--storage",
        str(workspace.storage_folder),
        "--user",
        user,
        "--allow-local-storage",
        *extra,
    ]  # fmt: skip  (the Jobs API stand-in runs its tasks on this machine: a local storage reaches them)
    return CliRunner().invoke(main, arguments, catch_exceptions=False)
