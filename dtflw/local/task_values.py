"""`dbutils.jobs.taskValues` in a local run, with Databricks' semantics.

A notebook run by another one (a flow step, `dbutils.notebook.run`) runs as the job task the Jobs export
makes of it, keyed as the Jobs export (`dtflw.deploy.tasks`) keys it — its path as called, `p/ingest` → `p_ingest`, a second
run of the same path under one caller `p_ingest_2` — so a later notebook reads
`taskValues.get(taskKey="p_ingest", key=…)` locally as in the job. The top notebook is no task (a job has
no orchestration notebook): like a notebook run outside a job, its `set` stores nothing and its `get`
returns `debugValue`, a TypeError without one.

Values must be JSON (as Databricks stores them); the JSON of one value is at most 48 KiB; a value read
is the JSON read back (a tuple comes back a list).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from dtflw.core.names import unique_task_key
from dtflw.errors import MissingDebugValueError, TaskValueError

MAX_VALUE_BYTES = 48 * 1024


class TaskValueStore:
    """The task values of one local run, by task key (thread-safe: DAG steps run in parallel)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], str] = {}
        self._keys_given: dict[str, set[str]] = {}  # caller → task keys given to the notebooks it ran

    def task_key(self, caller: str, called_path: str) -> str:
        """The task key of the notebook `caller` runs as `called_path` (unique per caller, in start order)."""
        with self._lock:
            taken = self._keys_given.setdefault(caller, set())
            key = unique_task_key(called_path, taken)
            taken.add(key)
            return key

    def put(self, task_key: str, key: str, value_json: str) -> None:
        with self._lock:
            self._values[(task_key, key)] = value_json

    def find(self, task_key: str, key: str) -> str | None:
        with self._lock:
            return self._values.get((task_key, key))


class TaskValues:
    """`dbutils.jobs.taskValues` of one notebook run: task `task_key`, or None outside any task."""

    def __init__(self, store: TaskValueStore, task_key: str | None):
        self._store = store
        self._task_key = task_key

    def set(self, key: str, value: object) -> None:
        if not isinstance(key, str) or not key:
            raise TaskValueError(f"Task value key must be a non-empty string, not {key!r}.")
        try:
            value_json = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise TaskValueError(
                f"Task value '{key}' must be expressible as JSON (str, number, bool, None, lists and dicts of them): "
                f"{e}."
            ) from None
        size = len(value_json.encode())
        if size > MAX_VALUE_BYTES:
            raise TaskValueError(
                f"Task value '{key}' is {size} bytes as JSON; Databricks allows at most {MAX_VALUE_BYTES // 1024} KiB. "
                "Write large values to a table or file and pass its path instead."
            )
        if self._task_key is not None:  # outside a job, Databricks stores nothing
            self._store.put(self._task_key, key, value_json)

    def get(
        self,
        taskKey: str,  # noqa: N803 - dbutils' names
        key: str,
        default: object = None,
        debugValue: object = None,  # noqa: N803
    ) -> Any:
        """The value task `taskKey` set as `key` (the JSON read back), else `default`; outside a task, `debugValue`."""
        if self._task_key is None:
            if debugValue is None:
                raise MissingDebugValueError(
                    "Must pass debugValue when calling get outside of a job context. debugValue cannot be None. "
                    f"(Locally, only notebooks run by another notebook are job tasks; this one asked for '{key}' "
                    f"of task '{taskKey}'.)"
                )
            return debugValue
        found = self._store.find(taskKey, key)
        if found is not None:
            return json.loads(found)
        if default is not None:
            return default
        raise TaskValueError(
            f"No task value '{key}' was set by task '{taskKey}' in this run; check the task key (a notebook called "
            f"as 'p/ingest' is task 'p_ingest') and that the task ran before, or pass default=."
        )


class Jobs:
    """`dbutils.jobs`."""

    def __init__(self, task_values: TaskValues):
        self.taskValues = task_values
