"""The check task of an exported job: a step's expectations evaluated on the job's compute, right after its
notebook's task, by the console entry point `dtflw-check-task` (a `python_wheel_task` of package dtflw).

Its parameters (a JSON array of `--name=value`; job parameters are not pushed down to it):

- `--dtflw_job=<the notebook task's dtflw_job widget>`, whose `task_run` is `{{tasks.<key>.run_id}}`: the flow's
  storage, the notebook, its task and the run whose lineage record gets the results;
- `--<table>_out=<path>` for each checked output (storage paths as `{{job.parameters.storage}}/…`);
- `--expectations=<JSON>`: a list of flat objects {table, name, rule, expression, action, param}.

The results are printed, added to the notebook task's lineage record (a blocking failure closes it `failed`
with the message, so no lazy run takes its outputs), and a blocking failure raises `ExpectationFailedError`
(the same message as a local run): the task fails and the tasks after it do not run.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from dtflw.core.widgets import OUTPUT_SUFFIX
from dtflw.errors import ExpectationError, ExpectationFailedError
from dtflw.expectations.spec import FAIL, ROW, TABLE_RULES, WARN, Expectation, ExpectationResult

if TYPE_CHECKING:
    from dtflw.runtime.task_lineage import TaskIdentity
    from dtflw.storage.base import Storage
    from dtflw.storage.environment import StorageEnvironment

log = logging.getLogger("dtflw")
ENTRY_POINT = "dtflw-check-task"
PACKAGE = "dtflw"
IDENTITY = "dtflw_job"
EXPECTATIONS = "expectations"
_FIELDS = ("table", "name", "rule", "expression", "action", "param")


def encode(declared: dict[str, tuple[Expectation, ...]]) -> str:
    """The `--expectations` value of `declared` ({table: expectations}): a list of flat objects, so that `}}`
    only ever closes a dynamic value reference."""
    items = [
        {"table": table, "name": e.name, "rule": e.rule, "expression": e.expression, "action": e.action}
        | {"param": list(e.param) if isinstance(e.param, tuple) else e.param}
        for table, expectations in declared.items()
        for e in expectations
    ]
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False)


def decode(text: str) -> dict[str, tuple[Expectation, ...]]:
    """The expectations `encode` wrote, by table; `ExpectationError` for anything else."""
    try:
        items = json.loads(text)
        if not isinstance(items, list) or not all(isinstance(i, dict) and set(i) == set(_FIELDS) for i in items):
            raise ValueError("not a list of expectations")
        found: dict[str, list[Expectation]] = {}
        for i in items:
            if i["rule"] not in (ROW, *TABLE_RULES) or i["action"] not in (WARN, FAIL):
                raise ValueError(f"unknown rule or action of expectation {i['name']!r}")
            param = tuple(i["param"]) if isinstance(i["param"], list) else i["param"]
            expectation = Expectation(str(i["name"]), i["rule"], str(i["expression"]), i["action"], param)
            found.setdefault(str(i["table"]), []).append(expectation)
    except (ValueError, TypeError) as e:
        raise ExpectationError(
            f"The check task's --{EXPECTATIONS} parameter is not what `dtflw deploy export` wrote ({e}); export "
            "the job again."
        ) from None
    return {table: tuple(expectations) for table, expectations in found.items()}


def parameters(argv: list[str]) -> dict[str, str]:
    """{name: value} of the `--name=value` arguments (others are ignored)."""
    pairs = (a[2:].partition("=") for a in argv if a.startswith("--") and "=" in a)
    return {name: value for name, _, value in pairs}


def main(argv: list[str] | None = None, *, spark: Any = None, environment: StorageEnvironment | None = None) -> None:
    """The entry point: evaluate the step's expectations on the task's Spark session (on Databricks,
    `SparkSession.builder.getOrCreate()` gives it; a caller running it in-process passes `spark` and the
    storage `environment`), print and record the results; raise `ExpectationFailedError` on a blocking failure."""
    from dtflw.storage.environment import StorageEnvironment

    argv = sys.argv[1:] if argv is None else argv
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
    environment = environment or StorageEnvironment(spark=spark, dbutils=_dbutils(spark))
    check(parameters(argv), environment)


def check(given: dict[str, str], environment: StorageEnvironment) -> list[ExpectationResult]:
    """Evaluate, print and record the expectations the parameters `given` name; return the results."""
    from dtflw.run.expectations import failure_message
    from dtflw.runtime.task_lineage import TaskIdentity, open_storage

    if not given.get(IDENTITY) or not given.get(EXPECTATIONS):
        raise ExpectationError(f"The check task needs --{IDENTITY} and --{EXPECTATIONS}; export the job again.")
    identity = TaskIdentity.parse(given[IDENTITY])
    declared = decode(given[EXPECTATIONS])
    paths = {table: given.get(table + OUTPUT_SUFFIX, "") for table in declared}
    storage = open_storage(identity, environment)
    results = _evaluate(storage, identity, declared, paths)
    for r in results:
        print(f"{'✖' if r.blocking_failure else '✔' if r.ok else '⚠'} {r.describe()}")
        if not r.ok and not r.blocking_failure:
            log.warning("dtflw: Expectation failed (%s): '%s' %s", r.action, identity.notebook, r.describe())
    failed = [r for r in results if r.blocking_failure]
    message = failure_message(identity.notebook, paths, failed) if failed else None
    _record(storage, identity, results, message)
    if message:
        raise ExpectationFailedError(message, notebook_path=identity.notebook, results=tuple(failed))
    return results


def _evaluate(
    storage: Storage, identity: TaskIdentity, declared: dict[str, tuple[Expectation, ...]], paths: dict[str, str]
) -> list[ExpectationResult]:
    from dtflw.events import scrub
    from dtflw.expectations import scan

    formats = dict(zip(identity.outputs, identity.formats, strict=False))
    results: list[ExpectationResult] = []
    for table, expectations in declared.items():
        path = paths[table]
        if not path or not storage.table_state(path).exists:
            raise ExpectationError(
                f"Output '{table}' of notebook '{identity.notebook}' is not at '{path}': its expectations cannot be "
                "evaluated. The notebook's task ended without writing it; see that task's output."
            )
        df = storage.read_table(path, formats.get(table) or None)
        results += scan.evaluate(df, identity.rel_path, table, expectations, scrub=lambda t: scrub(t, ()))
    return results


def _record(storage: Storage, identity: TaskIdentity, results: list[ExpectationResult], error: str | None) -> None:
    """Add `results` to the lineage record of the notebook task's run; close it failed with `error`, if any.
    Never raises: a record that cannot be written is a warning."""
    from dtflw.events import RunStatus
    from dtflw.lineage.document import parse_document
    from dtflw.runtime.task_lineage import TaskRecorder, task_document

    try:
        if not identity.job_run or not identity.task_run or "{{" in identity.job_run + identity.task_run:
            log.warning("dtflw lineage: %s's check runs outside a job run: not recorded", identity.task)
            return
        document = task_document(storage, identity)
        text = storage.read_text(document) or ""
        runs = parse_document(text)[1] if text else []
        if not runs:
            log.warning(
                "dtflw lineage: no record of task %s at %s: its expectations are not recorded", identity.task, document
            )
            return
        flow, run = parse_document(text)[0], runs[0]
        checked = {(r.table, r.name) for r in results}
        run.expectations = [r for r in run.expectations if (r.table, r.name) not in checked] + list(results)
        if error:
            run.status, run.error, run.ended = RunStatus.FAILED, error, time.time()
            for use in run.outputs:
                if use.path:
                    use.state = storage.table_state(use.path)
        recorder = TaskRecorder(storage, document)
        recorder.on_notebook_end(flow, run)
        if not recorder.flush(30.0):
            log.warning("dtflw lineage: the expectations of task %s are not recorded yet", identity.task)
    except Exception as e:  # recording never hides the check's own result
        log.warning("dtflw lineage: could not record the expectations of task %s: %s", identity.task, e)


def _dbutils(spark: Any) -> Any:
    """The cluster's dbutils (a DBFS storage lists and reads through it), or None off Databricks."""
    try:
        from pyspark.dbutils import DBUtils  # only on Databricks
    except ImportError:
        return None
    return DBUtils(spark)
