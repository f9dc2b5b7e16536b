"""The local Databricks runtime: notebooks executed in-process with a local dbutils and real Spark."""

from __future__ import annotations

import json
import pathlib
import time

import pytest
from chispa import assert_df_equality
from testkit import LONG_SPARK_QUERY, notebook_thread_ends

from dtflw.errors import (
    ArgumentError,
    NotebookFailedError,
    NotebookNotFoundError,
    NotebookTimeoutError,
    SchemaMismatchError,
)
from dtflw.local.dbutils import SecretNotFoundError, WidgetNotDefinedError


def test_exit_value_and_cells_after_exit_do_not_run(workspace):
    workspace.write("nb.py", "x = 41", "dbutils.notebook.exit(str(x + 1))", "raise RuntimeError('not reached')")
    assert workspace.run("nb.py") == "42"


def test_a_notebook_without_exit_returns_none(workspace):
    workspace.write("nb.py", "x = 1")
    assert workspace.run("nb.py") is None


def test_widgets_arguments_override_defaults_and_survive_remove_all(workspace):
    workspace.write(
        "nb.py",
        """
        dbutils.widgets.removeAll()
        dbutils.widgets.text("year", "2020", "Year")
        dbutils.widgets.text("name", "default")
        dbutils.widgets.dropdown("colour", "red", ["red", "blue"])
        dbutils.widgets.combobox("shape", "round", ["round", "square"])
        dbutils.widgets.multiselect("days", "mon,tue", ["mon", "tue", "wed"])
        before = dbutils.widgets.getAll()
        dbutils.widgets.removeAll()
        after = dbutils.widgets.getAll()
        dbutils.widgets.remove("name")
        import json
        dbutils.notebook.exit(json.dumps({"year": dbutils.widgets.get("year"), "before": before, "after": after,
                                          "missing": dbutils.widgets.getArgument("nope", "fallback")}))
        """,
    )
    result = json.loads(workspace.run("nb.py", {"year": "1997"}))
    assert result["year"] == "1997"
    assert result["before"] == {
        "year": "1997",
        "name": "default",
        "colour": "red",
        "shape": "round",
        "days": "mon,tue",
    }
    assert result["after"] == {"year": "1997"}, "run arguments survive removeAll"
    assert result["missing"] == "fallback"


def test_undefined_widget_and_bad_dropdown_default_fail_with_the_cell(workspace):
    workspace.write("nb.py", "dbutils.widgets.get('nope')")
    with pytest.raises(NotebookFailedError, match="cell 1") as info:
        workspace.run("nb.py")
    assert isinstance(info.value.__cause__, WidgetNotDefinedError)
    workspace.write("dd.py", "dbutils.widgets.dropdown('c', 'green', ['red'])")
    with pytest.raises(NotebookFailedError, match="not among its choices"):
        workspace.run("dd.py")


def test_context_gives_the_workspace_path_and_user(workspace):
    workspace.write(
        "project/nb.py",
        """
        ctx = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
        from dtflw import databricks as db
        dbutils.notebook.exit(f"{ctx.notebookPath().get()}|{ctx.tags().apply('user')}|{db.is_job_interactive()}|"
                              f"{db.try_get_context_tag('jobType', 'none')}|{db.get_path_relative_to_project_dir('x')}")
        """,
    )
    assert (
        workspace.run("project/nb.py") == "/Users/tester@example.com/project/nb|tester@example.com|True|none|project/x"
    )


def test_tracebacks_name_the_notebook_cell_and_real_line(workspace):
    path = workspace.write("lib/failing.py", "a = 1", "b = 2\n\nraise ValueError('bad value')")
    with pytest.raises(NotebookFailedError) as info:
        workspace.run("lib/failing.py")
    error = info.value
    lines = pathlib.Path(path).read_text().splitlines()
    assert lines[error.line - 1] == "raise ValueError('bad value')"
    assert (error.notebook_path, error.cell) == ("/Users/tester@example.com/lib/failing", 2)
    assert f"{path}:{error.line}" in str(error) and "ValueError: bad value" in str(error)


def test_nested_runs_resolve_relative_paths_and_isolate_widgets_and_temp_views(workspace):
    workspace.write(
        "a/main.py",
        """
        spark.range(3).createOrReplaceTempView("parents_view")
        dbutils.widgets.text("only_in_parent", "p")
        child = dbutils.notebook.run("../b/child", 0, {"x": "5"})
        dbutils.notebook.exit(child + "|" + dbutils.widgets.get("only_in_parent"))
        """,
    )
    workspace.write(
        "b/child.py",
        """
        try:
            spark.table("parents_view").count()
            sees_parent_view = "yes"
        except Exception:
            sees_parent_view = "no"
        defined = "only_in_parent" in dbutils.widgets.getAll()
        dbutils.notebook.exit(f"{dbutils.widgets.get('x')}|{sees_parent_view}|{defined}")
        """,
    )
    assert workspace.run("a/main.py") == "5|no|False|p"


def test_notebook_run_arguments_must_be_strings(workspace):
    workspace.write("main.py", "dbutils.notebook.run('child', 0, {'x': 5})")
    workspace.write("child.py", "pass")
    with pytest.raises(NotebookFailedError, match="arguments must be strings") as info:
        workspace.run("main.py")
    assert isinstance(info.value.__cause__, ArgumentError)


def test_a_missing_notebook_is_named(workspace):
    workspace.write("main.py", "dbutils.notebook.run('./nowhere', 0, {})")
    with pytest.raises(NotebookFailedError, match="Notebook '/Users/tester@example.com/nowhere' not found") as info:
        workspace.run("main.py")
    assert isinstance(info.value.__cause__, NotebookNotFoundError)
    with pytest.raises(NotebookNotFoundError, match="does not exist"):
        workspace.run("nothing.py")


def test_percent_run_includes_another_notebook_with_arguments(workspace):
    workspace.write(
        "lib/helpers.py",
        """
        LANG = dbutils.widgets.get("lang")

        def greet(name):
            return f"hello {name} from {LANG}"
        """,
    )
    workspace.write(
        "jobs/main.py",
        '# MAGIC %run ../lib/helpers $lang="en gb"',
        "dbutils.notebook.exit(greet('ann'))",
    )
    assert workspace.run("jobs/main.py") == "hello ann from en gb"


def test_a_nested_percent_run_is_relative_to_the_notebook_holding_it(workspace):
    workspace.write("lib/base/constants.py", "GREETING = 'hi'")
    workspace.write(
        "lib/helpers.py", "# MAGIC %run ./base/constants", "def greet(name):\n    return f'{GREETING} {name}'"
    )
    workspace.write("jobs/main.py", "# MAGIC %run ../lib/helpers", "dbutils.notebook.exit(greet('ann'))")
    assert workspace.run("jobs/main.py") == "hi ann"


def test_sql_cells_and_sql_notebooks(workspace):
    workspace.write(
        "nb.py",
        "spark.createDataFrame([(1, 'a'), (2, 'b')], 'id int, v string').createOrReplaceTempView('t')",
        "# MAGIC %sql\n# MAGIC CREATE OR REPLACE TEMP VIEW t2 AS SELECT id * 10 AS id FROM t;\n# MAGIC SELECT sum(id) AS s FROM t2",
        "dbutils.notebook.exit(str(_sqldf.collect()[0]['s']))",
    )
    assert workspace.run("nb.py") == "30"
    (workspace.root / "q.sql").write_text(
        "-- Databricks notebook source\nSELECT 1 AS one\n\n-- COMMAND ----------\n\n"
        "-- MAGIC %python\n-- MAGIC dbutils.notebook.exit('sql notebook ran')\n"
    )
    assert workspace.run("q.sql") == "sql notebook ran"


def test_ipynb_notebooks_run(workspace):
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"language_info": {"name": "python"}},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
            {"cell_type": "code", "metadata": {}, "source": ["x = 2\n", "y = x * 21"], "outputs": []},
            {"cell_type": "code", "metadata": {}, "source": ["dbutils.notebook.exit(str(y))"], "outputs": []},
        ],
    }
    (workspace.root / "nb.ipynb").write_text(json.dumps(notebook))
    assert workspace.run("nb.ipynb") == "42"


def test_dbfs_through_dbutils_fs(workspace):
    workspace.write(
        "nb.py",
        """
        dbutils.fs.mkdirs("dbfs:/tmp/a")
        dbutils.fs.put("dbfs:/tmp/a/x.txt", "hello", True)
        dbutils.fs.cp("/tmp/a/x.txt", "dbfs:/tmp/b/y.txt")
        dbutils.fs.mv("dbfs:/tmp/b/y.txt", "dbfs:/tmp/b/z.txt")
        listing = [(f.name, f.size) for f in dbutils.fs.ls("dbfs:/tmp/b")]
        head = dbutils.fs.head("dbfs:/tmp/b/z.txt")
        dbutils.fs.rm("dbfs:/tmp/b", True)
        try:
            dbutils.fs.ls("dbfs:/tmp/b")
            gone = False
        except FileNotFoundError as e:
            gone = "java.io.FileNotFoundException" in str(e)
        dbutils.notebook.exit(f"{listing}|{head}|{gone}")
        """,
    )
    assert workspace.run("nb.py") == "[('z.txt', 5)]|hello|True"


def test_secrets_from_environment_and_file_are_redacted_in_events(make_workspace, tmp_path):
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"kv": {"api-token": "file-secret-123"}}))
    ws = make_workspace(secrets_file=str(secrets_file), environ={"DTFLW_SECRET_KV_DB_PASSWORD": "env-secret-456"})
    ws.write(
        "nb.py",
        """
        a = dbutils.secrets.get("kv", "api-token")
        b = dbutils.secrets.get(scope="kv", key="db-password")
        keys = [key for (key,) in dbutils.secrets.list("kv")]  # named tuples, as on Databricks
        scopes = [scope.name for scope in dbutils.secrets.listScopes()]
        dbutils.notebook.exit(f"{len(a)}|{len(b)}|{keys}|{scopes}")
        """,
    )
    assert ws.run("nb.py") == "15|14|['api-token', 'db_password']|['kv']"
    assert ws.local.secret_values == {"file-secret-123", "env-secret-456"}
    ws.write("missing.py", "dbutils.secrets.get('kv', 'nope')")
    with pytest.raises(NotebookFailedError) as info:
        ws.run("missing.py")
    assert isinstance(info.value.__cause__, SecretNotFoundError)
    assert "DTFLW_SECRET_KV_NOPE" in str(info.value)


def test_a_timeout_stops_waiting_and_names_the_notebook(workspace):
    workspace.write("slow.py", "import time\ntime.sleep(30)")
    started = time.monotonic()
    with pytest.raises(NotebookTimeoutError, match="'/Users/tester@example.com/slow' timed out after 1 s"):
        workspace.run("slow.py", timeout_seconds=1)
    assert time.monotonic() - started < 10
    workspace.write("fast.py", "dbutils.notebook.exit('in time')")
    assert workspace.run("fast.py", timeout_seconds=30) == "in time"


def test_a_timeout_interrupts_the_notebooks_spark_operations(workspace):
    workspace.write("busy.py", LONG_SPARK_QUERY)
    with pytest.raises(NotebookTimeoutError, match="busy' timed out after 1 s"):
        workspace.run("busy.py", timeout_seconds=1)
    assert notebook_thread_ends("/Users/tester@example.com/busy"), "its query was interrupted, so the notebook ended"


def test_display_functions(workspace, capsys):
    workspace.write(
        "nb.py",
        """
        df = spark.createDataFrame([(1, 'x')], 'id int, v string')
        display(df)
        df.display()
        displayHTML("<b>bold &amp; brave</b>")
        display({"k": 1})
        """,
    )
    workspace.run("nb.py")
    out = capsys.readouterr().out
    assert out.count("|id |v  |") == 2
    assert "bold & brave" in out and "{'k': 1}" in out


def test_a_flow_inside_notebooks_writes_real_tables(workspace, spark):
    workspace.write(
        "project/main.py",
        """
        from dtflw import init_flow, init_args
        args = init_args("factor")
        flow = init_flow()
        flow.notebook("write_numbers").args({"factor": args["factor"].value}).output("Numbers", cols=[("n", "bigint")]).run()
        result = flow.notebook("sum_numbers").input("Numbers").output("Total", format="delta").run()
        dbutils.notebook.exit(result)
        """,
    )
    workspace.write(
        "project/write_numbers.py",
        """
        from dtflw import init_args, init_outputs
        dbutils.widgets.removeAll()
        factor = int(init_args("factor")["factor"].value)
        out = init_outputs("Numbers")["Numbers"].value
        spark.range(1, 5).selectExpr(f"id * {factor} AS n").write.mode("overwrite").parquet(out)
        """,
    )
    workspace.write(
        "project/sum_numbers.py",
        """
        from dtflw import init_inputs, init_outputs
        numbers = spark.read.parquet(init_inputs("Numbers")["Numbers"].value)
        total = numbers.selectExpr("sum(n) AS total")
        total.write.format("delta").mode("overwrite").save(init_outputs("Total")["Total"].value)
        dbutils.notebook.exit(str(total.collect()[0]["total"]))
        """,
    )
    assert workspace.run("project/main.py", {"factor": "10"}) == "100"
    store = workspace.storage_folder
    numbers = spark.read.parquet(str(store / "project/write_numbers/Numbers.parquet"))
    expected = spark.createDataFrame([(10,), (20,), (30,), (40,)], "n bigint")
    assert_df_equality(numbers, expected, ignore_row_order=True, ignore_nullable=True)
    total = spark.read.format("delta").load(str(store / "project/sum_numbers/Total.delta"))
    assert total.collect()[0]["total"] == 100


def test_a_wrong_output_schema_is_reported(workspace):
    workspace.write(
        "p/main.py",
        """
        from dtflw import init_flow
        init_flow().notebook("w").output("T", cols=[("id", "bigint"), ("name", "string")]).run()
        """,
    )
    workspace.write(
        "p/w.py",
        """
        from dtflw import init_outputs
        spark.range(2).selectExpr("cast(id as string) AS id").write.parquet(init_outputs("T")["T"].value)
        """,
    )
    with pytest.raises(NotebookFailedError) as info:
        workspace.run("p/main.py")
    cause = info.value.__cause__
    assert isinstance(cause, SchemaMismatchError)
    assert "Output 'T' of notebook '/Users/tester@example.com/p/w'" in str(cause)
    assert "Column's 'id' expected type is 'bigint' but 'string' is given." in str(cause)
    assert "Column 'name' is not present in the table." in str(cause)


def test_dbfs_storage_locally_hands_readable_paths_to_notebooks(workspace):
    workspace.write(
        "p/main.py",
        """
        from dtflw import init_flow
        from dtflw.storage.dbfs import init_storage
        storage = init_storage()
        flow = init_flow(storage)
        flow.notebook("w").output("T").run()
        path = flow["T"]
        dbutils.notebook.exit(f"{storage.url}|{flow.ctx.resolve_table('T')}|{spark.read.parquet(path).count()}")
        """,
    )
    workspace.write(
        "p/w.py",
        """
        from dtflw import init_outputs
        spark.range(3).write.parquet(init_outputs("T")["T"].value)
        """,
    )
    url, logical, count = workspace.run("p/main.py").split("|")
    assert url == "dbfs:/FileStore/tester@example.com"
    assert logical == "dbfs:/FileStore/tester@example.com/p/w/T.parquet"
    assert count == "3"
    assert (workspace.dbfs_folder / "FileStore/tester@example.com/p/w/T.parquet").is_dir()
