"""SQL notebooks and %sql cells take parameters: widgets, `${name}`, `getArgument('name')`, `:name`."""

from __future__ import annotations

import json

import pytest
from chispa import assert_df_equality

from dtflw.errors import NotebookFailedError

SQL_HEADER = "-- Databricks notebook source\n"
SQL_SEPARATOR = "\n-- COMMAND ----------\n"


def _sql_notebook(workspace, rel_path, *cells):
    path = workspace.root / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SQL_HEADER + SQL_SEPARATOR.join(cells))


def test_a_sql_step_reads_its_input_widget_and_writes_its_output_marker(workspace, spark):
    orders = workspace.storage_folder / "raw" / "orders.parquet"
    spark.createDataFrame(
        [(1, "north", 10.0), (2, "south", 5.0), (3, "north", 2.5)], "id long, region string, amount double"
    ).write.parquet(str(orders))
    _sql_notebook(
        workspace,
        "sql/stats.sql",
        "CREATE WIDGET TEXT Orders_in DEFAULT '';\nCREATE WIDGET TEXT Stats_out DEFAULT 'nowhere'\n",
        "CREATE OR REPLACE TEMP VIEW stats AS\n"
        "SELECT region, count(*) AS orders, sum(amount) AS revenue FROM parquet.`${Orders_in}` GROUP BY region\n",
        "CREATE OR REPLACE TABLE stats_out USING delta LOCATION :Stats_out AS SELECT * FROM stats\n",
    )
    workspace.write(
        "main.py",
        f"""
        from dtflw import init_flow
        flow = init_flow()
        flow.notebook("sql/stats").input("Orders", file_path={str(orders)!r}).output("Stats", format="delta").run()
        dbutils.notebook.exit(flow["Stats"])
        """,
    )
    stats_path = workspace.run("main.py")
    assert stats_path.endswith("Stats.delta")
    expected = spark.createDataFrame(
        [("north", 2, 12.5), ("south", 1, 5.0)], "region string, orders long, revenue double"
    )
    actual = spark.read.format("delta").load(stats_path).orderBy("region")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_widget_statements_get_argument_and_markers_in_sql_cells(workspace):
    _sql_notebook(
        workspace,
        "q.sql",
        "CREATE WIDGET TEXT who DEFAULT 'nobody';\nCREATE WIDGET TEXT `quote` DEFAULT \"it's\";\n"
        "CREATE WIDGET DROPDOWN colour DEFAULT 'red' CHOICES SELECT * FROM VALUES ('red'), ('blue');\n"
        "CREATE WIDGET TEXT gone DEFAULT 'x';\nREMOVE WIDGET gone\n",
        "CREATE OR REPLACE TEMP VIEW answer AS SELECT :who AS who, getArgument('quote') AS quote, "
        "getArgument(\"missing\", 'fallback') AS missing, '${colour}:who' AS raw, :colour AS colour, "
        "CAST('7' AS INT)::string AS cast_ok;\nSELECT :who AS who, concat(:colour, '!') AS c -- :not_a_marker\n",
        "-- MAGIC %python\n-- MAGIC import json\n"
        "-- MAGIC row = spark.table('answer').collect()[0].asDict()\n"
        "-- MAGIC query = _sqldf.collect()[0].asDict()\n"
        "-- MAGIC dbutils.notebook.exit(json.dumps([row, query, sorted(dbutils.widgets.getAll())]))\n",
    )
    row, query, widgets = json.loads(workspace.run("q.sql", {"who": "ann's"}))
    assert query == {"who": "ann's", "c": "red!"}
    assert row == {
        "who": "ann's",
        "quote": "it's",
        "missing": "fallback",
        "raw": "red:who",
        "colour": "red",
        "cast_ok": "7",
    }
    assert widgets == ["colour", "quote", "who"]


def test_a_marker_or_substitution_of_an_unknown_widget_names_it(workspace):
    _sql_notebook(workspace, "a.sql", "SELECT * FROM parquet.`${Orders_in}`\n")
    with pytest.raises(NotebookFailedError, match=r"widget 'Orders_in'.*CREATE WIDGET TEXT Orders_in"):
        workspace.run("a.sql")
    _sql_notebook(workspace, "b.sql", "SELECT :nope AS v\n")
    with pytest.raises(NotebookFailedError, match=r"widget 'nope'"):
        workspace.run("b.sql")
    _sql_notebook(workspace, "c.sql", "CREATE WIDGET TEXT\n")
    with pytest.raises(NotebookFailedError, match=r"CREATE WIDGET TEXT name DEFAULT"):
        workspace.run("c.sql")


def test_markers_are_bound_in_queries_and_not_in_strings_paths_or_casts():
    from dtflw.local.dbutils import Widgets
    from dtflw.local.sql_widgets import bind

    widgets = Widgets({"a": "x'y", "b": "2"})
    text, args = bind("SELECT :a, raw:b, c::int, ':b' /* :b */, `:b` FROM t WHERE k = :b -- :a", widgets, "nb")
    assert (text, args) == (
        "SELECT :a, raw:b, c::int, ':b' /* :b */, `:b` FROM t WHERE k = :b -- :a",
        {"a": "x'y", "b": "2"},
    )
    text, args = bind("INSERT INTO t VALUES (:a)", widgets, "nb", as_literals=True)
    assert (text, args) == ("INSERT INTO t VALUES ('x\\'y')", {})
