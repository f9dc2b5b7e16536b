"""A smaller suite on the classic local JVM Spark engine (no Delta: its jar needs Maven)."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from testkit import LONG_SPARK_QUERY, notebook_source, notebook_thread_ends

from dtflw.engines import create_engine
from dtflw.engines.jvm import JvmEngine
from dtflw.errors import EngineError, NotebookFailedError, NotebookTimeoutError, SchemaMismatchError
from dtflw.local.workspace import LocalSettings, LocalWorkspace

pytestmark = [pytest.mark.jvm, pytest.mark.slow]


@pytest.fixture(scope="module")
def jvm():
    engine = create_engine("spark", {"spark.sql.shuffle.partitions": "2"})
    assert isinstance(engine, JvmEngine)
    yield engine
    engine.stop()


@pytest.fixture
def jvm_ws(tmp_path, jvm):
    root = tmp_path / "ws"

    def write(rel, *cells):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(notebook_source(*cells))

    workspace = LocalWorkspace(
        str(root),
        jvm,
        LocalSettings(user="jvm", storage_url=str(tmp_path / "store"), dbfs_folder=str(tmp_path / "dbfs")),
    )
    return workspace, write, root, tmp_path / "store"


def test_databricks_defaults_are_set(jvm):
    conf = jvm.session.conf
    assert conf.get("spark.sql.ansi.enabled") == "true"
    assert conf.get("spark.sql.session.timeZone") == "UTC"


def test_a_flow_of_notebooks_runs_on_jvm_spark(jvm_ws, jvm):
    workspace, write, root, store = jvm_ws
    write(
        "p/main.py",
        """
        from dtflw import init_flow
        flow = init_flow()
        with flow.dag(workers=2):
            flow.notebook("make").output("Numbers", cols=[("n", "bigint")]).run()
            flow.notebook("double").input("Numbers").output("Doubled").run()
        dbutils.notebook.exit(spark.read.parquet(flow["Doubled"]).selectExpr("sum(n)").first()[0].__str__())
        """,
    )
    write(
        "p/make.py",
        "from dtflw import init_outputs\nspark.range(1, 4).selectExpr('id AS n').write.parquet(init_outputs('Numbers')['Numbers'].value)",
    )
    write(
        "p/double.py",
        """
        from dtflw import init_inputs, init_outputs
        spark.read.parquet(init_inputs("Numbers")["Numbers"].value).createOrReplaceTempView("numbers")
        """,
        "# MAGIC %sql\n# MAGIC CREATE OR REPLACE TEMP VIEW doubled AS SELECT n * 2 AS n FROM numbers",
        "spark.table('doubled').write.parquet(init_outputs('Doubled')['Doubled'].value)",
    )
    assert workspace.run_file(str(root / "p/main.py")) == "12"
    actual = jvm.session.read.parquet(str(store / "p/double/Doubled.parquet"))
    expected = jvm.session.createDataFrame([(2,), (4,), (6,)], "n bigint")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_schema_checks_work_on_jvm_spark(jvm_ws):
    workspace, write, root, _ = jvm_ws
    write(
        "p/main.py", "from dtflw import init_flow\ninit_flow().notebook('w').output('T', cols=[('id', 'string')]).run()"
    )
    write("p/w.py", "from dtflw import init_outputs\nspark.range(2).write.parquet(init_outputs('T')['T'].value)")
    with pytest.raises(Exception) as info:
        workspace.run_file(str(root / "p/main.py"))
    assert isinstance(info.value.__cause__, SchemaMismatchError)
    assert "Column's 'id' expected type is 'string' but 'bigint' is given." in str(info.value.__cause__)


def test_unknown_engines_and_remote_urls_are_rejected():
    with pytest.raises(EngineError, match="Unknown engine 'flink'"):
        create_engine("flink")
    with pytest.raises(EngineError, match="must start with 'sc://'"):
        create_engine("remote", url="http://x")


def test_a_timeout_cancels_the_notebooks_jobs_and_keeps_the_shared_context(jvm_ws, jvm):
    workspace, write, root, _ = jvm_ws
    write("p/busy.py", LONG_SPARK_QUERY)
    with pytest.raises(NotebookTimeoutError, match="busy' timed out after 2 s"):
        workspace.run_file(str(root / "p/busy.py"), timeout_seconds=2)
    assert notebook_thread_ends("/Users/jvm/p/busy"), "its jobs were cancelled, so the notebook ended"
    assert jvm.session.sparkContext.statusTracker().getActiveJobsIds() == []
    assert jvm.session.range(3).count() == 3, "the engine's SparkContext is still up"


def test_notebooks_read_and_write_the_databricks_namespaces_on_jvm_spark(jvm_ws, tmp_path):
    workspace, write, root, _ = jvm_ws
    raw = tmp_path / "dbfs/FileStore/raw/people.csv"
    raw.parent.mkdir(parents=True)
    raw.write_text("id,name\n1,a\n2,b\n")
    write(
        "p/nb.py",
        """
        df = spark.read.csv("dbfs:/FileStore/raw/people.csv", header=True)
        df.write.mode("overwrite").parquet("dbfs:/tmp/people")
        n = spark.sql("SELECT count(*) AS n FROM parquet.`/dbfs/tmp/people`").first().n
        with open("/dbfs/FileStore/raw/people.csv") as f:
            lines = len(f.readlines())
        stream = spark.readStream.format("text").load("dbfs:/FileStore/raw").writeStream.format("parquet")
        stream.option("checkpointLocation", "dbfs:/tmp/cp").trigger(availableNow=True).start("dbfs:/tmp/lines")
        spark.streams.awaitAnyTermination()
        streamed = spark.read.parquet("dbfs:/tmp/lines").count()
        dbutils.notebook.exit(f"{n}|{lines}|{streamed}")
        """,
    )
    assert workspace.run_file(str(root / "p/nb.py")) == "2|3|3"
    assert (tmp_path / "dbfs/tmp/people").is_dir() and (tmp_path / "dbfs/tmp/cp").is_dir()
    write("p/missing.py", 'spark.read.csv("dbfs:/FileStore/none.csv")')
    with pytest.raises(NotebookFailedError, match=r"\[PATH_NOT_FOUND\] Path does not exist: dbfs:/FileStore/none.csv"):
        workspace.run_file(str(root / "p/missing.py"))


def test_expectations_are_evaluated_on_jvm_spark_and_a_blocking_one_fails_the_step(jvm_ws):
    from test_expectations import CLEAN, MAIN, REPORT

    from dtflw.errors import NotebookFailedError
    from dtflw.lineage import LineageGraph
    from dtflw.storage.base import FolderStorage

    workspace, write, root, store = jvm_ws
    write("p/clean.py", CLEAN)
    write("p/report.py", REPORT)
    write("p/main.py", MAIN)
    workspace.run_file(str(root / "p/main.py"), {})
    results = {r.name: r for r in LineageGraph.load(FolderStorage(str(store))).latest_producer("Orders").expectations}
    assert (results["id_present"].failed, results["qty_positive"].failed, results["unique"].failed) == (1, 0, 0)
    with pytest.raises(NotebookFailedError, match=r"Orders.qty_positive \(qty > 0, fail\): 2 of 10 rows failed"):
        workspace.run_file(str(root / "p/main.py"), {"bad": "2"})
    write("p/main.py", MAIN.replace("qty > 0", "qty >"))
    with pytest.raises(NotebookFailedError, match=r"ExpectationError: Expectation 'qty_positive' \(qty >\)"):
        workspace.run_file(str(root / "p/main.py"), {})


def test_a_unity_catalog_table_on_the_jvm_engine_is_a_clear_error_before_the_notebook_runs(jvm_ws):
    workspace, write, root, _ = jvm_ws
    write("callee.py", "raise RuntimeError('must not run')")
    write(
        "main.py",
        "from dtflw import init_flow\ninit_flow().notebook('callee').input('T', table='main.default.t').run()",
    )
    with pytest.raises(Exception, match="(?s)main.default.t is a Unity Catalog table.*sail engine") as error:
        workspace.run_file(str(root / "main.py"))
    assert "must not run" not in str(error.value)
