"""Notebooks touching the Databricks namespaces themselves (`dbfs:/`, `/dbfs`, `/Volumes`, `/Workspace`,
`file:/`) read and write the local workspace's folders, on the Sail engine, as on Databricks; a read of a
missing path fails with PATH_NOT_FOUND instead of giving an empty DataFrame."""

from __future__ import annotations

import json
import os

import pytest
from chispa import assert_df_equality

from dtflw.errors import NamespacePathError, NotebookFailedError
from dtflw.local.namespaces import WorkspaceNamespaces, default_volumes_root

CSV = "id,name\n1,a\n2,b\n"


def _seed(folder, rel: str, text: str = CSV) -> str:
    path = os.path.join(str(folder), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


@pytest.fixture
def ws(workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a write that missed the mapping would land here, in ./dbfs:
    return workspace


def _no_dbfs_colon_folder(tmp_path):
    found = [d for d, dirs, _ in os.walk(tmp_path) for name in dirs if name.startswith("dbfs:")]
    assert found == [], f"a folder named dbfs: was created under {found}"


def test_the_mapping_of_every_namespace():
    ns = WorkspaceNamespaces.of("/x/dbfs", None, "/ws", "u@x.y")
    assert ns.volumes_root == "/x/volumes" == default_volumes_root("/x/dbfs/")
    assert ns.local_path("dbfs:/FileStore/a.csv") == "/x/dbfs/FileStore/a.csv"
    assert ns.local_path("/dbfs/FileStore/a.csv") == ns.local_path("file:/dbfs/FileStore/a.csv")
    assert ns.local_path("dbfs:/Volumes/c/s/v/f") == "/x/volumes/c/s/v/f" == ns.local_path("/Volumes/c/s/v/f")
    assert ns.volume_folder("c", "s", "v") == "/x/volumes/c/s/v"
    assert ns.local_path("/Workspace/Users/u@x.y/p/a.csv") == "/ws/p/a.csv"
    assert ns.local_path("file:///tmp/a") == "/tmp/a"
    for untouched in ("/tmp/a", "rel/a", "s3://b/a", "abfss://c@a.dfs.core.windows.net/x", "/dbfsx"):
        assert ns.local_path(untouched) is None
    for refused in ("dbfs:/../etc", "/Volumes/c/../../x", "/Workspace/Shared/a"):
        with pytest.raises(NamespacePathError):
            ns.local_path(refused)


def test_spark_reads_and_writes_dbfs_paths_in_the_dbfs_root(ws, tmp_path):
    _seed(ws.dbfs_folder, "FileStore/raw/people.csv")
    ws.write(
        "p/nb.py",
        """
        df = spark.read.csv("dbfs:/FileStore/raw/people.csv", header=True, inferSchema=True)
        df.write.mode("overwrite").parquet("dbfs:/tmp/people")
        back = spark.read.parquet("/dbfs/tmp/people")
        dbutils.notebook.exit(f"{df.columns}|{back.count()}")
        """,
    )
    assert ws.run("p/nb.py") == "['id', 'name']|2"
    assert os.path.isdir(ws.dbfs_folder / "tmp/people")
    _no_dbfs_colon_folder(tmp_path)


def test_a_missing_path_fails_with_path_not_found_never_an_empty_dataframe(ws, tmp_path):
    ws.write("p/nb.py", 'spark.read.csv("dbfs:/FileStore/nothing.csv").columns')
    with pytest.raises(NotebookFailedError, match=r"\[PATH_NOT_FOUND\] Path does not exist: dbfs:/FileStore/nothing"):
        ws.run("p/nb.py")
    ws.write("p/local.py", f'spark.read.parquet("{tmp_path}/missing.parquet")')
    with pytest.raises(NotebookFailedError, match="PATH_NOT_FOUND"):
        ws.run("p/local.py")
    ws.write("p/bare.py", 'spark.read.csv("/FileStore/raw.csv")')
    with pytest.raises(
        NotebookFailedError, match="path without a scheme is on the DBFS: write dbfs:/FileStore/raw.csv"
    ):
        ws.run("p/bare.py")
    ws.write("p/glob.py", 'spark.read.csv("dbfs:/FileStore/none/*.csv")')
    with pytest.raises(NotebookFailedError, match="PATH_NOT_FOUND"):
        ws.run("p/glob.py")


def test_the_error_is_an_analysis_exception_a_notebook_can_catch(ws):
    _seed(ws.dbfs_folder, "FileStore/in/2024-01.csv")
    ws.write(
        "p/nb.py",
        """
        from pyspark.errors import AnalysisException
        try:
            spark.read.csv("dbfs:/FileStore/in/2023-*.csv")
            found = "read"
        except AnalysisException as e:
            found = "missing" if "PATH_NOT_FOUND" in str(e) else "other"
        dbutils.notebook.exit(found + "|" + str(spark.read.csv("dbfs:/FileStore/in/2024-*.csv").count()))
        """,
    )
    assert ws.run("p/nb.py") == "missing|3"


def test_volumes_and_workspace_files_and_file_scheme(ws, tmp_path):
    _seed(ws.local.volumes_folder, "main/raw/files/people.csv")
    _seed(ws.root, "p/data/lookup.csv", "k\nx\n")
    _seed(tmp_path, "plain/other.csv", "k\ny\n")
    ws.write(
        "p/nb.py",
        f"""
        a = spark.read.csv("/Volumes/main/raw/files/people.csv", header=True).count()
        b = spark.read.csv("dbfs:/Volumes/main/raw/files/people.csv", header=True).count()
        c = spark.read.csv("/Workspace/Users/tester@example.com/p/data/lookup.csv", header=True).first().k
        d = spark.read.csv("file:{tmp_path}/plain/other.csv", header=True).first().k
        spark.range(2).write.mode("overwrite").parquet("/Volumes/main/raw/files/out")
        dbutils.notebook.exit(f"{{a}}{{b}}{{c}}{{d}}")
        """,
    )
    assert ws.run("p/nb.py") == "22xy"
    assert os.path.isdir(os.path.join(ws.local.volumes_folder, "main/raw/files/out"))


def test_sql_reads_and_writes_namespace_paths(ws, tmp_path):
    ws.write(
        "p/nb.py",
        """
        spark.range(3).write.mode("overwrite").parquet("dbfs:/tmp/t")
        n = spark.sql("SELECT count(*) AS n FROM parquet.`dbfs:/tmp/t`").first().n
        spark.sql("CREATE TABLE located USING parquet LOCATION 'dbfs:/tmp/t'")
        m = spark.sql("SELECT count(*) AS n FROM located").first().n
        literal = spark.sql("SELECT 'dbfs:/tmp/t' AS p").first().p
        by_name = spark.table("parquet.`dbfs:/tmp/t`").count() + spark.read.table("parquet.`/dbfs/tmp/t`").count()
        dbutils.notebook.exit(f"{n}|{m}|{literal}|{by_name}")
        """,
    )
    assert ws.run("p/nb.py") == "3|3|dbfs:/tmp/t|6", "a plain string literal stays as written"
    ws.write("p/missing.py", "spark.sql('SELECT * FROM parquet.`dbfs:/tmp/none`').collect()")
    with pytest.raises(NotebookFailedError, match="PATH_NOT_FOUND"):
        ws.run("p/missing.py")
    _no_dbfs_colon_folder(tmp_path)


def test_sql_cells_and_fs_and_sh_cells(ws, tmp_path):
    _seed(ws.dbfs_folder, "FileStore/s/a.csv")
    ws.write(
        "p/nb.py",
        """
        # MAGIC %sql
        # MAGIC CREATE TABLE cell_t USING csv OPTIONS (header 'true') LOCATION 'dbfs:/FileStore/s/a.csv'
        """,
        """
        # MAGIC %sh
        # MAGIC cp /dbfs/FileStore/s/a.csv /dbfs/FileStore/s/b.csv && ls /dbfs/FileStore/s > /dbfs/FileStore/s/list.txt
        """,
        """
        # MAGIC %fs ls dbfs:/FileStore/s
        """,
        """
        dbutils.notebook.exit(str(spark.table("cell_t").count()))
        """,
    )
    assert ws.run("p/nb.py") == "2"
    assert (ws.dbfs_folder / "FileStore/s/b.csv").read_text() == CSV
    assert (ws.dbfs_folder / "FileStore/s/list.txt").read_text().split() == ["a.csv", "b.csv", "list.txt"]


def test_sail_refuses_a_table_path_it_would_ignore(ws):
    _seed(ws.dbfs_folder, "FileStore/s/a.csv")
    ws.write("p/nb.py", "spark.sql(\"CREATE TABLE o USING csv OPTIONS (path 'dbfs:/FileStore/s/a.csv')\")")
    with pytest.raises(NotebookFailedError, match=r"Sail engine ignores `OPTIONS \(path"):
        ws.run("p/nb.py")


def test_python_file_access_sees_the_fuse_paths_as_on_a_cluster(ws):
    _seed(ws.dbfs_folder, "FileStore/cfg.json", '{"k": 1}')
    _seed(ws.local.volumes_folder, "main/raw/files/people.csv")
    ws.write(
        "p/nb.py",
        """
        import glob, json, os, pathlib, shutil
        import pandas as pd
        with open("/dbfs/FileStore/cfg.json") as f:
            k = json.load(f)["k"]
        pathlib.Path("/dbfs/FileStore/out").mkdir(parents=True, exist_ok=True)
        pathlib.Path("/dbfs/FileStore/out/o.txt").write_text("ok")
        shutil.copy("/Volumes/main/raw/files/people.csv", "/dbfs/FileStore/out/people.csv")
        df = pd.read_csv("/dbfs/FileStore/out/people.csv")
        df.to_csv("/Volumes/main/raw/files/copy.csv", index=False)
        seen = [
            os.path.exists("/dbfs/FileStore/cfg.json"),
            os.path.exists("/dbfs/FileStore/none"),
            sorted(os.listdir("/dbfs/FileStore/out")),
            sorted(glob.glob("/Volumes/main/raw/files/*.csv")),
            len(df),
        ]
        dbutils.notebook.exit(json.dumps([k, *seen]))
        """,
    )
    assert json.loads(ws.run("p/nb.py")) == [
        1,
        True,
        False,
        ["o.txt", "people.csv"],
        ["/Volumes/main/raw/files/copy.csv", "/Volumes/main/raw/files/people.csv"],
        2,
    ]
    assert (ws.dbfs_folder / "FileStore/out/o.txt").read_text() == "ok"
    assert os.path.exists(os.path.join(ws.local.volumes_folder, "main/raw/files/copy.csv"))
    assert not os.path.exists("/dbfs"), "nothing is made at the machine's root"


def test_native_code_on_fuse_paths_fails_saying_what_to_do(ws):
    ws.write("p/nb.py", "import pyarrow.parquet as pq\npq.read_table('/dbfs/FileStore/none.parquet')")
    with pytest.raises(NotebookFailedError, match=r"Locally /dbfs/FileStore/none.parquet is the folder .*native code"):
        ws.run("p/nb.py")


def test_dbutils_fs_maps_dbfs_volumes_under_the_volumes_root(ws):
    _seed(ws.local.volumes_folder, "c/s/v/a.txt", "x")
    ws.write("p/nb.py", "dbutils.notebook.exit(','.join(f.path for f in dbutils.fs.ls('dbfs:/Volumes/c/s/v')))")
    assert ws.run("p/nb.py") == "dbfs:/Volumes/c/s/v/a.txt"


def test_a_dtflw_06_orchestration_notebook_building_dbfs_storage_runs_as_on_databricks(ws, tmp_path):
    """0.6 notebooks: the orchestration builds `DbfsStorage` itself, so dtflw hands `dbfs:/` paths to Spark;
    the callee reads its input with `spark.read.csv` and writes with `df.write`."""
    _seed(ws.dbfs_folder, "FileStore/proj/raw/people.csv")
    ws.write(
        "p/main.py",
        """
        from dtflw import init_flow
        from dtflw.storage.dbfs import DbfsStorage

        storage = DbfsStorage("FileStore/proj", spark, dbutils)
        flow = init_flow(storage)
        flow.notebook("ingest").input("Raw", file_path="FileStore/proj/raw/people.csv").output("People").run()
        people = spark.read.parquet(storage.get_abs_path("FileStore/proj/p/ingest/People.parquet"))
        dbutils.notebook.exit(str(people.count()))
        """,
    )
    ws.write(
        "p/ingest.py",
        """
        from dtflw import init_inputs, init_outputs
        inputs, outputs = init_inputs("Raw"), init_outputs("People")
        assert inputs["Raw"].value.startswith("dbfs:/"), inputs["Raw"].value
        df = spark.read.csv(inputs["Raw"].value, header=True, inferSchema=True)
        assert df.columns == ["id", "name"], df.columns
        df.write.mode("overwrite").parquet(outputs["People"].value)
        """,
    )
    assert ws.run("p/main.py") == "2"
    written = ws.dbfs_folder / "FileStore/proj/p/ingest/People.parquet"
    assert any(n.endswith(".parquet") for n in os.listdir(written))
    _no_dbfs_colon_folder(tmp_path)


def test_chispa_data_written_to_dbfs_reads_back_identically(ws, engine):
    ws.write(
        "p/nb.py",
        """
        spark.createDataFrame([(1, "a"), (2, "b")], "id long, name string").write.mode("overwrite").parquet(
            "dbfs:/FileStore/out/t"
        )
        """,
    )
    ws.run("p/nb.py")
    session = engine.session
    actual = session.read.parquet(str(ws.dbfs_folder / "FileStore/out/t"))
    expected = session.createDataFrame([(1, "a"), (2, "b")], "id long, name string")
    assert_df_equality(actual, expected, ignore_row_order=True)


def test_a_folder_without_data_files_fails_to_infer_a_schema_as_on_databricks(ws):
    (ws.dbfs_folder / "tmp/empty").mkdir(parents=True)
    (ws.dbfs_folder / "tmp/empty/_SUCCESS").write_text("")
    ws.write("p/nb.py", 'spark.read.parquet("dbfs:/tmp/empty").columns')
    with pytest.raises(NotebookFailedError, match=r"\[UNABLE_TO_INFER_SCHEMA\] Unable to infer schema for Parquet"):
        ws.run("p/nb.py")
    ws.write(
        "p/schema.py",
        """
        a = spark.read.schema("id long").parquet("dbfs:/tmp/empty").count()
        b = spark.read.format("csv").load("dbfs:/tmp/empty", schema="id long").count()
        spark.range(0).write.format("delta").mode("overwrite").save("dbfs:/tmp/empty_delta")
        c = spark.read.format("delta").load("dbfs:/tmp/empty_delta").columns
        dbutils.notebook.exit(f"{a}|{b}|{c}")
        """,
    )
    assert ws.run("p/schema.py") == "0|0|['id']", "with a schema, or a Delta table, an empty read is right"


def test_run_helpers_and_imported_modules_see_the_namespaces_too(ws):
    _seed(ws.dbfs_folder, "FileStore/raw/people.csv")
    (ws.root / "p").mkdir(parents=True, exist_ok=True)
    (ws.root / "p/lake.py").write_text(
        "from pyspark.sql import SparkSession\n\n"
        "def rows(path):\n"
        "    return SparkSession.getActiveSession().read.csv(path, header=True).count()\n\n"
        "def lines(path):\n"
        "    with open(path) as f:\n"
        "        return len(f.readlines())\n"
    )
    ws.write("p/setup.py", "def read_raw(name):\n    return spark.read.csv(f'dbfs:/FileStore/raw/{name}', header=True)")
    ws.write(
        "p/nb.py",
        "# MAGIC %run ./setup",
        """
        import lake
        a = read_raw("people.csv").count()
        b = lake.rows("dbfs:/FileStore/raw/people.csv")
        c = lake.lines("/dbfs/FileStore/raw/people.csv")
        dbutils.notebook.exit(f"{a}{b}{c}")
        """,
    )
    assert ws.run("p/nb.py") == "223"


def test_path_options_lists_of_paths_and_sql_comments(ws, tmp_path):
    _seed(ws.dbfs_folder, "FileStore/m/a.csv")
    _seed(ws.dbfs_folder, "FileStore/m/b.csv")
    ws.write(
        "p/nb.py",
        """
        both = spark.read.csv(["dbfs:/FileStore/m/a.csv", "/dbfs/FileStore/m/b.csv"], header=True).count()
        by_option = spark.read.format("csv").option("header", True).option("path", "dbfs:/FileStore/m/a.csv").load()
        df = spark.range(2)
        df.write.format("parquet").mode("overwrite").options(path="dbfs:/tmp/by_options").save()
        df.write.format("parquet").mode("overwrite").option("path", "dbfs:/tmp/by_option").save()
        n = spark.sql(
            "-- reads 'dbfs:/tmp/by_options'\\n/* a `comment` */ SELECT count(*) AS n FROM parquet.`dbfs:/tmp/by_option`"
        ).first().n
        dbutils.notebook.exit(f"{both}|{by_option.count()}|{n}")
        """,
    )
    assert ws.run("p/nb.py") == "4|2|2"
    assert (ws.dbfs_folder / "tmp/by_options").is_dir() and (ws.dbfs_folder / "tmp/by_option").is_dir()
    _no_dbfs_colon_folder(tmp_path)


def test_the_remote_engine_maps_the_namespaces_too(tmp_path, engine, monkeypatch):
    from testkit import notebook_source

    from dtflw.engines import create_engine
    from dtflw.local.workspace import LocalSettings, LocalWorkspace

    monkeypatch.chdir(tmp_path)
    engine.session  # noqa: B018 - the Sail server is up; the remote engine reaches it by its sc:// URL
    _seed(tmp_path / "dbfs", "FileStore/raw/people.csv")
    notebook = tmp_path / "ws/p/nb.py"
    notebook.parent.mkdir(parents=True)
    notebook.write_text(
        notebook_source(
            """
            spark.read.csv("dbfs:/FileStore/raw/people.csv", header=True).write.parquet("dbfs:/tmp/people")
            try:
                spark.read.parquet("dbfs:/tmp/none")
            except Exception as e:
                dbutils.notebook.exit(str(spark.read.parquet("/dbfs/tmp/people").count()) + str(e)[:16])
            """
        )
    )
    with create_engine("remote", url=engine.url) as remote:
        settings = LocalSettings(user="r@x.y", storage_url=str(tmp_path / "s"), dbfs_folder=str(tmp_path / "dbfs"))
        result = LocalWorkspace(str(tmp_path / "ws"), remote, settings).run_file(str(notebook))
    assert result == "2[PATH_NOT_FOUND]"
    _no_dbfs_colon_folder(tmp_path)
