"""`dbutils.jobs.taskValues` in a local run: Databricks' semantics, values keyed by the Jobs export's task keys."""

from __future__ import annotations

import pytest

from dtflw.deploy.tasks import planned_tasks
from dtflw.errors import MissingDebugValueError, NotebookFailedError, TaskValueError
from dtflw.local.task_values import TaskValues, TaskValueStore

MAIN = """
from dtflw import init_flow
flow = init_flow()
flow.notebook("bronze/count").output("Rows").run()
dbutils.notebook.exit(flow.notebook("report").input("Rows").run())
"""
COUNT = """
from dtflw import init_outputs
out = init_outputs("Rows")
df = spark.range(3)
df.write.mode("overwrite").parquet(out["Rows"].value)
dbutils.jobs.taskValues.set("stats", {"rows": df.count(), "ok": True})
"""
REPORT = """
from dtflw import init_inputs
init_inputs("Rows")
stats = dbutils.jobs.taskValues.get(taskKey="bronze_count", key="stats")
missing = dbutils.jobs.taskValues.get("bronze_count", "nothing", default="d", debugValue="never")
dbutils.notebook.exit(f"{stats['rows']}|{stats['ok']}|{missing}")
"""


def test_values_flow_between_the_steps_of_a_flow_under_the_jobs_task_keys(workspace):
    main = workspace.write("p/main.py", MAIN)
    workspace.write("p/bronze/count.py", COUNT)
    workspace.write("p/report.py", REPORT)
    assert workspace.run("p/main.py") == "3|True|d"
    keys = [t.key for t in planned_tasks(workspace.local, main)]
    assert keys == ["bronze_count", "report"], "the key the consumer reads is the one the job gives the producer"


def test_outside_a_job_set_stores_nothing_and_get_needs_a_debug_value(workspace):
    workspace.write(
        "p/alone.py",
        """
        dbutils.jobs.taskValues.set("k", 1)
        got = dbutils.jobs.taskValues.get("any", "k", debugValue="dbg")
        try:
            dbutils.jobs.taskValues.get("any", "k", default=5)
            dbutils.notebook.exit("no error")
        except TypeError as e:
            dbutils.notebook.exit(got + "|" + str(e))
        """,
    )
    assert workspace.run("p/alone.py").startswith("dbg|Must pass debugValue when calling get outside of a job context.")


def test_a_notebook_run_twice_by_one_caller_gets_the_second_key_as_in_the_job(workspace):
    workspace.write(
        "p/main.py",
        """
        dbutils.notebook.run("./set", 0, {"v": "first"})
        dbutils.notebook.run("./set", 0, {"v": "second"})
        dbutils.notebook.exit(dbutils.notebook.run("./get", 0))
        """,
    )
    workspace.write("p/set.py", "dbutils.jobs.taskValues.set('v', dbutils.widgets.get('v'))")
    workspace.write(
        "p/get.py",
        "g = dbutils.jobs.taskValues.get\ndbutils.notebook.exit(g('set', 'v') + '|' + g('set_2', 'v'))",
    )
    assert workspace.run("p/main.py") == "first|second"


def test_a_value_never_set_fails_naming_task_and_key(workspace):
    workspace.write("p/main.py", "dbutils.notebook.run('./get', 0)")
    workspace.write("p/get.py", "dbutils.jobs.taskValues.get('ingest', 'rows')")
    with pytest.raises(NotebookFailedError, match="No task value 'rows' was set by task 'ingest'"):
        workspace.run("p/main.py")


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("k", {1, 2}, "JSON"),
        ("k", float("nan"), "JSON"),
        ("k", "x" * (48 * 1024), "at most 48 KiB"),
        ("", 1, "non-empty string"),
        (3, 1, "non-empty string"),
    ],
)
def test_values_databricks_refuses_are_refused(key, value, why):
    values = TaskValues(TaskValueStore(), "t")
    with pytest.raises(TaskValueError, match=why):
        values.set(key, value)


def test_values_read_back_as_json_and_the_largest_allowed_fits():
    store = TaskValueStore()
    TaskValues(store, "a").set("t", (1, "x"))
    TaskValues(store, "a").set("big", "x" * (48 * 1024 - 2))
    reader = TaskValues(store, "b")
    assert reader.get("a", "t") == [1, "x"]
    assert len(reader.get("a", "big")) == 48 * 1024 - 2
    with pytest.raises(MissingDebugValueError):
        TaskValues(store, None).get("a", "t")
