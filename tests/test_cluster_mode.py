"""The cluster code paths — `dbutils.notebook.run`, `dbutils.fs`, the flow bus, the 0.6 `databricks`
helpers — driven by the local runtime's dbutils, which implements Databricks' documented behaviour
(string arguments and exit values, FileInfo listings, FileNotFoundException for missing paths)."""

from __future__ import annotations

import pytest

from dtflw import databricks as db
from dtflw import init_flow, init_inputs
from dtflw.com import MessageBus, NotebooksChannel
from dtflw.compat.cluster import DbutilsRunner
from dtflw.errors import NotebookFailedError, NotebookTimeoutError, RuntimeNotFoundError
from dtflw.runtime import activated, current_runtime
from dtflw.storage.dbfs import DbfsStorage
from dtflw.storage.dbfs import init_storage as dbfs_storage
from dtflw.storage.fs import FileStorageBase, file_exists

WRITE_TEXT_TABLE = """
from dtflw import init_outputs
out = init_outputs("T")["T"].value
dbutils.fs.put(out + "/part-00000.csv", "id\\n1\\n", True)
dbutils.notebook.exit("wrote " + out)
"""


@pytest.fixture
def cluster(workspace, spark):
    """A notebook's dbutils and spark, as a cluster gives them, outside any dtflw runtime."""
    workspace.write("p/write.py", WRITE_TEXT_TABLE)
    workspace.write("p/fail.py", "raise ValueError('callee failed')")
    workspace.write("p/slow.py", "import time\ntime.sleep(5)")
    runtime = workspace.local.runtime_for("/Users/tester@example.com/p/main", {}, spark)
    return runtime.dbutils, spark


def test_a_flow_on_dbfs_through_dbutils(cluster):
    dbutils, spark = cluster
    storage = DbfsStorage("FileStore/me", spark, dbutils)
    flow = init_flow(storage, spark, dbutils)
    assert flow.ctx.runtime.notebook_path == "/Users/tester@example.com/p/main"
    assert isinstance(flow.ctx.runtime.runner, DbutilsRunner)
    result = flow.notebook("write").output("T").run()
    assert result == "wrote dbfs:/FileStore/me/p/write/T.parquet"
    assert storage.exists("dbfs:/FileStore/me/p/write/T.parquet")
    assert storage.list("FileStore/me/p/*/T.parquet") == ["dbfs:/FileStore/me/p/write/T.parquet"]
    skipped = flow.notebook("write").output("T").run(is_lazy=True)
    assert skipped == "wrote dbfs:/FileStore/me/p/write/T.parquet", "skipped: the value of its last run"
    bus = NotebooksChannel(spark).get_outputs("/Users/tester@example.com/p/write")
    assert bus == {"T": "dbfs:/FileStore/me/p/write/T.parquet"}, "interactive runs share their arguments"


def test_a_dag_runs_in_threads_over_dbutils_notebook_run(cluster):
    dbutils, spark = cluster
    flow = init_flow(DbfsStorage("dag", spark, dbutils), spark, dbutils)
    with flow.dag(workers=3) as dag:
        for name in ("a", "b", "c"):
            flow.notebook("write").output("T", file_path=f"dag/{name}/T", alias=f"T_{name}").run()
    assert [step.result for step in dag.steps] == [f"wrote dbfs:/dag/{n}/T" for n in "abc"]
    assert dag.run() == {f"write#{i}": f"wrote dbfs:/dag/{n}/T" for i, n in enumerate("abc", 1)}


def test_callee_failures_and_timeouts_are_typed(cluster):
    dbutils, spark = cluster
    flow = init_flow(DbfsStorage("x", spark, dbutils), spark, dbutils)
    with pytest.raises(NotebookFailedError, match="Notebook '/Users/tester@example.com/p/fail' failed"):
        flow.notebook("fail").run()
    with pytest.raises(NotebookTimeoutError, match="timed out"):
        flow.notebook("slow").timeout(1).run()


def test_dbfs_storage_defaults_to_the_users_filestore(cluster):
    dbutils, spark = cluster
    storage = dbfs_storage(dbutils=dbutils, spark=spark)
    assert isinstance(storage, DbfsStorage) and storage.url == "dbfs:/FileStore/tester@example.com"
    storage.write_text("FileStore/x/doc.json", '{"a": 1}')
    assert storage.read_text("FileStore/x/doc.json") == '{"a": 1}'
    assert storage.read_text("FileStore/x/none.json") is None
    assert [i.name for i in storage.list_dir("FileStore/x")] == ["doc.json"]
    storage.delete("FileStore/x")
    assert not storage.exists("FileStore/x/doc.json")


def test_the_0_6_storage_base_and_file_exists(cluster):
    dbutils, spark = cluster

    class MountStorage(FileStorageBase):
        @property
        def base_path(self):
            return "dbfs:/mnt/lake/"

    storage = MountStorage(spark, dbutils, "root")
    dbutils.fs.put("dbfs:/mnt/lake/raw/a.csv", "x", True)
    assert storage.exists("raw/a.csv") and storage.url == "dbfs:/mnt/lake/root"
    assert file_exists("dbfs:/mnt/lake/raw/a.csv", dbutils)
    assert not file_exists("dbfs:/mnt/lake/raw/b.csv", dbutils)
    with pytest.raises(ValueError, match="cannot be None"):
        file_exists("", dbutils)


def test_the_0_6_databricks_helpers_answer_from_the_current_runtime(cluster):
    dbutils, spark = cluster
    from dtflw.compat.cluster import from_dbutils

    with activated(from_dbutils(dbutils, spark)):
        assert current_runtime().dbutils is dbutils
        assert db.get_dbutils() is dbutils and db.get_spark_session() is spark
        assert db.get_current_username() == "tester@example.com"
        assert db.get_this_notebook_abs_path() == "/Users/tester@example.com/p/main"
        assert db.get_this_notebook_abs_cwd() == "/Users/tester@example.com/p"
        assert db.get_notebook_abs_path("../q/nb") == "/Users/tester@example.com/q/nb"
        assert db.is_job_interactive() is True
        db.set_runtime_config_property("dtflw.test.key", "v")
        assert db.get_runtime_config_property("dtflw.test.key") == "v"
        assert db.runtime_config_has("dtflw.test.key") and not db.runtime_config_has("dtflw.no.such.key")
        assert db.run_notebook("write", 0, {"T_out": "dbfs:/tmp/t"}) == "wrote dbfs:/tmp/t"


def test_the_flow_bus_shares_values_for_interactive_callees(cluster, spark):
    dbutils, _ = cluster
    bus = MessageBus(spark)
    with pytest.raises(ValueError, match="channel"):
        bus.share("", "t", 1)
    with pytest.raises(ValueError, match="topic"):
        bus.share("c", "", 1)
    channel = NotebooksChannel(spark)
    channel.share_args("/Users/u/nb", {"year": "2024"})
    channel.share_inputs("/Users/u/nb", {"Orders": "dbfs:/o"})
    assert channel.get_args("/Users/u/nb") == {"year": "2024"}
    assert channel.get_inputs("/Users/u/nb") == {"Orders": "dbfs:/o"}
    assert channel.get_outputs("/Users/u/other") == {}
    assert bus.try_get("notebooks", "/Users/u/nb")["args"] == {"year": "2024"}
    assert bus.try_get("nope", defualt="fallback") == "fallback"
    assert "notebooks" in bus.try_get()


def test_callee_reads_shared_values_when_run_interactively(cluster, spark):
    dbutils, _ = cluster
    from dtflw.compat.cluster import from_dbutils

    NotebooksChannel(spark).share_inputs("/Users/tester@example.com/p/main", {"Orders": "dbfs:/o", "Extra": "dbfs:/e"})
    with activated(from_dbutils(dbutils, spark)):
        inputs = init_inputs("Orders")
    assert {k: v.value for k, v in inputs.items()} == {"Orders": "dbfs:/o", "Extra": "dbfs:/e"}


def test_without_a_runtime_init_flow_explains_how_to_get_one():
    with pytest.raises(RuntimeNotFoundError, match="dtflw run NOTEBOOK"):
        init_flow()
