"""dtflw 0.6 code and tests run unchanged: written the way 0.6's own tests were (unittest, patched
`dtflw.databricks` hooks, storages built with `dbutils=None`), against a cluster's dbutils where one
is needed (the local runtime's, which follows Databricks' documented behaviour)."""

from __future__ import annotations

import unittest
from collections import namedtuple
from unittest.mock import patch

import pytest
from testkit import azure_storage

from dtflw import init_args, init_flow, init_inputs
from dtflw.com import MessageBus, NotebooksChannel
from dtflw.errors import RuntimeNotFoundError
from dtflw.runtime import Runtime, activated
from dtflw.storage.base import FolderStorage
from dtflw.storage.dbfs import DbfsStorage
from dtflw.storage.dbfs import init_storage as init_dbfs_storage
from dtflw.storage.fs import FileStorageBase

Info = namedtuple("Info", "name path")


class SparkSessionMock:
    """What 0.6's tests used for `spark`: a runtime config only."""

    class _Conf(dict):
        def set(self, key, value):
            self[key] = value

        def get(self, key):
            return self[key]

    def __init__(self):
        self.conf = self._Conf()


class MountStorage(FileStorageBase):
    @property
    def base_path(self):
        return "dbfs:/mnt/lake/"


class DbfsStorage06TestCase(unittest.TestCase):
    def test_storages_are_built_without_dbutils(self):
        storage = DbfsStorage("root", None, None)
        self.assertEqual(storage.root_dir, "root")
        self.assertEqual(storage.get_path_in_root_dir(""), "root/")
        self.assertTrue(storage.is_abs_path("dbfs:/dir/file.txt"))
        self.assertEqual(MountStorage(None, None, "r").get_abs_path("a.csv"), "dbfs:/mnt/lake/a.csv")

    def test_a_trailing_slash_is_kept(self):
        storage = DbfsStorage("root/dir", None, None)
        self.assertEqual(storage.get_abs_path("sub_dir/dir/"), "dbfs:/sub_dir/dir/")
        self.assertEqual(storage.get_abs_path("dbfs:/sub_dir/dir/"), "dbfs:/sub_dir/dir/")

    def test_list_takes_a_lister(self):
        storage = DbfsStorage("", None, None)
        fs = {
            "dbfs:/": ["dir_1/", "dir_2/", "file.csv"],
            "dbfs:/dir_1/": ["file_1.csv", "file_2.txt", "dir_3/"],
            "dbfs:/dir_1/dir_3/": ["file_4.txt"],
            "dbfs:/dir_2/": ["file_3.csv"],
        }

        def lister(path):
            return [Info(name, path + ("" if path.endswith("/") else "/") + name) for name in fs[path]]

        cases = {
            "*": ["dir_1/", "dir_2/", "file.csv"],
            "dir_*": ["dir_1/", "dir_2/"],
            "dir_*/": [],
            "dir_?/file_*.csv": ["dir_1/file_1.csv", "dir_2/file_3.csv"],
            "dir_1/dir_3/file_4.txt": ["dir_1/dir_3/file_4.txt"],
            "dir_[24513]/file_[31].csv": ["dir_1/file_1.csv", "dir_2/file_3.csv"],
        }
        for pattern, expected in cases.items():
            with self.subTest(pattern=pattern):
                actual = storage.list(storage.get_abs_path(pattern), lister)
                self.assertCountEqual(actual, [storage.get_abs_path(m) for m in expected])

    def test_dbutils_is_found_when_first_used(self):
        storage = DbfsStorage("", None, None)
        listed = []

        class FsMock:
            def ls(self, path):
                listed.append(path)
                return [Info("part-0.parquet", path.rstrip("/") + "/part-0.parquet")]

        class DbutilsMock:
            fs = FsMock()

        runtime = Runtime(DbutilsMock(), notebook_path="/Users/a@b.c/main", user="a@b.c", runner=None)
        with activated(runtime):
            self.assertTrue(storage.exists("t.parquet"))
        self.assertEqual(listed[0], "dbfs:/t.parquet")

    def test_azure_and_dbfs_storages_are_file_storages(self):
        self.assertIsInstance(DbfsStorage("", None, None), FileStorageBase)
        azure = azure_storage("account", "container", "", None, None, account_key="a2V5")
        self.assertIsInstance(azure, FileStorageBase)
        self.assertEqual(azure.base_path, "wasbs://container@account.blob.core.windows.net/")


class MessageBus06TestCase(unittest.TestCase):
    @patch("dtflw.databricks.get_spark_session")
    def test_share_and_try_get_without_spark(self, get_session_mock):
        get_session_mock.return_value = SparkSessionMock()
        bus = MessageBus()
        bus.share("channel_1", "topic_1", "foo")
        bus.share("channel_1", "topic_2", "bar")
        self.assertDictEqual(bus.try_get(), {"channel_1": {"topic_1": "foo", "topic_2": "bar"}})
        self.assertEqual(bus.try_get("channel_1", "unknown", 42), 42)
        channel = NotebooksChannel()
        channel.share_args("/Users/u/nb", {"year": "1997"})
        self.assertEqual(channel.get_args("/Users/u/nb"), {"year": "1997"})


@pytest.fixture
def cluster(workspace, spark):
    """A cluster notebook's dbutils and spark, outside any dtflw runtime."""
    workspace.write("p/write.py", "dbutils.notebook.exit('ran')")
    runtime = workspace.local.runtime_for("/Users/tester@example.com/p/main", {"year": "1997"}, spark)
    return runtime.dbutils, spark


def test_the_cluster_path_goes_through_the_patched_hooks(cluster):
    dbutils, spark = cluster
    flow = init_flow(DbfsStorage("r", spark, dbutils), spark, dbutils)
    with (
        patch("dtflw.databricks.run_notebook") as run_notebook_mock,
        patch("dtflw.databricks.is_job_interactive") as is_job_interactive_mock,
    ):
        run_notebook_mock.return_value = "patched"
        is_job_interactive_mock.return_value = False
        assert flow.notebook("write").args({"a": "1"}).run() == "patched"
        run_notebook_mock.assert_called_once_with("write", 0, {"a": "1"})
        assert NotebooksChannel(spark).get_args("/Users/tester@example.com/p/write") == {}, "a job shares nothing"
        is_job_interactive_mock.return_value = True
        flow.notebook("write").args({"a": "2"}).run()
        assert NotebooksChannel(spark).get_args("/Users/tester@example.com/p/write") == {"a": "2"}
    assert flow.notebook("write").run() == "ran", "unpatched: dbutils.notebook.run of the flow's dbutils"


def test_a_cluster_runtime_is_detected_through_the_hooks(cluster):
    dbutils, spark = cluster
    with (
        patch("dtflw.databricks.get_dbutils") as get_dbutils_mock,
        patch("dtflw.databricks.get_this_notebook_abs_path") as get_path_mock,
        patch("dtflw.databricks.get_current_username") as get_user_mock,
        patch("dtflw.databricks.get_spark_session") as get_session_mock,
    ):
        get_dbutils_mock.return_value = dbutils
        get_path_mock.return_value = "/Repos/a@b.c/project/main"
        get_user_mock.return_value = "a@b.c"
        get_session_mock.return_value = spark
        storage = init_dbfs_storage()
        assert storage.root_dir == "FileStore/a@b.c"
        flow = init_flow(storage)
        nb = flow.notebook("nb").output("foo")
        assert nb.get_outputs()["foo"].abs_file_path == "dbfs:/FileStore/a@b.c/project/nb/foo.parquet"
        assert flow.ctx.runtime.dbutils is dbutils and flow.ctx.spark is spark


def test_share_arguments_puts_a_call_on_the_flow_bus_and_a_core_flow_says_it_has_none(cluster, tmp_path):
    from dtflw import DefaultLogger, Flow, FlowContext
    from dtflw.core import context, flow

    dbutils, spark = cluster
    storage = FolderStorage(str(tmp_path))
    ctx = FlowContext(storage, spark, dbutils, DefaultLogger())
    nb = Flow(ctx).notebook("/Users/u/shared").args({"year": "1997"}).output("T")
    nb.share_arguments()
    assert NotebooksChannel(spark).get_args("/Users/u/shared") == {"year": "1997"}
    assert NotebooksChannel(spark).get_outputs("/Users/u/shared") == {"T": nb.get_outputs()["T"].abs_file_path}
    core = flow.Flow(context.FlowContext(storage, spark, dbutils)).notebook("/Users/u/shared")
    with pytest.raises(RuntimeNotFoundError, match="'/Users/u/shared'.*flow bus"):
        core.share_arguments()


def test_init_args_and_inputs_outside_a_notebook_use_the_hooks(cluster):
    dbutils, spark = cluster
    NotebooksChannel(spark).share_inputs("/Repos/a@b.c/project/nb", {"Orders": "dbfs:/o"})
    with (
        patch("dtflw.databricks.get_dbutils") as get_dbutils_mock,
        patch("dtflw.databricks.get_this_notebook_abs_path") as get_path_mock,
        patch("dtflw.databricks.get_spark_session") as get_session_mock,
    ):
        get_dbutils_mock.return_value = dbutils
        get_path_mock.return_value = "/Repos/a@b.c/project/nb"
        get_session_mock.return_value = spark
        assert init_args("year")["year"].value == "1997"
        assert {k: v.value for k, v in init_inputs("Orders").items()} == {"Orders": "dbfs:/o"}
    with pytest.raises(RuntimeNotFoundError):
        init_args("year")


def test_an_optional_input_without_a_path_has_the_empty_path(runtime_at, tmp_path):
    with runtime_at():
        flow = init_flow(FolderStorage(str(tmp_path)))
        nb = flow.notebook("nb").input("X", file_path="", is_optional=True)
        assert nb.get_inputs()["X"].abs_file_path == ""
        assert nb.widget_arguments() == {"X_in": ""}


def mock_dbutils(ls_return=()):
    """0.6's test helper: a dbutils whose `fs.ls` lists (name, path) pairs."""

    class MockObj:
        pass

    dbutils = MockObj()
    dbutils.fs = MockObj()
    dbutils.fs.ls = lambda path: [Info(name, p) for name, p in ls_return]
    return dbutils


class StorageMock(FileStorageBase):
    @property
    def base_path(self):
        return "mock:/"


class LazyNotebook06TestCase(unittest.TestCase):
    """A flow context built by hand, without a runtime, as 0.6's tests built it."""

    def setUp(self):
        from dtflw import DefaultLogger, FlowContext

        self._storage = StorageMock(None, mock_dbutils(), "")
        self._ctx = FlowContext(self._storage, None, None, DefaultLogger())

    @patch("dtflw.databricks.get_this_notebook_abs_path")
    def test_output_abs_file_path(self, get_this_notebook_abs_path_mock):
        from dtflw.lazy_notebook import LazyNotebook

        get_this_notebook_abs_path_mock.return_value = "/Repos/a@b.c/project/main"
        nb = LazyNotebook("nb", self._ctx).output("foo")
        self.assertEqual(nb.get_outputs()["foo"].abs_file_path, "mock:/project/nb/foo.parquet")

    @patch("dtflw.databricks.get_spark_session")
    @patch("dtflw.databricks.is_job_interactive")
    @patch("dtflw.databricks.get_this_notebook_abs_path")
    @patch("dtflw.databricks.run_notebook")
    def test_run_return_value(self, run_notebook_mock, get_path_mock, is_job_interactive_mock, get_session_mock):
        from dtflw.lazy_notebook import LazyNotebook

        get_path_mock.return_value = "/Repos/a@b.c/project/main"
        run_notebook_mock.return_value = "foo"
        is_job_interactive_mock.return_value = True
        session = get_session_mock.return_value = SparkSessionMock()
        actual = LazyNotebook("nb", self._ctx).args({"a": "1"}).run(is_lazy=False)
        self.assertEqual(actual, "foo")
        run_notebook_mock.assert_called_once_with("nb", 0, {"a": "1"})
        self.assertEqual(NotebooksChannel(session).get_args("/Repos/a@b.c/project/nb"), {"a": "1"})

    @patch("dtflw.databricks.is_job_interactive")
    def test_run_failure_input_not_found(self, is_job_interactive_mock):
        from dtflw.lazy_notebook import LazyNotebook

        is_job_interactive_mock.return_value = False
        nb = LazyNotebook("nb", self._ctx).input("foo")
        with self.assertRaisesRegex(Exception, "Required input not found."):
            nb.run(is_lazy=False)

    @patch("dtflw.databricks.is_job_interactive")
    @patch("dtflw.databricks.run_notebook")
    def test_run_failure_output_not_found(self, run_notebook_mock, is_job_interactive_mock):
        from dtflw.lazy_notebook import LazyNotebook

        is_job_interactive_mock.return_value = False
        with self.assertRaisesRegex(Exception, "Expected output not found."):
            LazyNotebook("nb", self._ctx).output("foo").run()
        self.assertEqual(run_notebook_mock.call_count, 1)


class Package06TestCase(unittest.TestCase):
    def test_spark_session_is_importable_from_dtflw(self):
        from pyspark.sql import SparkSession

        import dtflw

        self.assertIs(dtflw.SparkSession, SparkSession)

    def test_read_and_write_table_without_dbutils_use_parquet(self):
        class Reader:
            def parquet(self, path):
                return ("read", path)

        class SparkMock:
            read = Reader()

        storage = DbfsStorage("root_dir", SparkMock(), None)
        path = storage.get_abs_path(storage.get_path_with_file_extension("table"))
        self.assertEqual(storage.read_table(path), ("read", "dbfs:/table.parquet"))
        written = []

        class Writer:
            def mode(self, mode):
                written.append(mode)
                return self

            def parquet(self, path):
                written.append(path)

        class DataFrameMock:
            write = Writer()

        storage.write_table(DataFrameMock(), path)
        self.assertEqual(written, ["overwrite", "dbfs:/table.parquet"])


def test_on_a_cluster_the_runtime_is_detected_from_the_notebooks_namespace(cluster, monkeypatch):
    """A notebook's kernel has IPython loaded, with `dbutils`, `spark` and `displayHTML` in its namespace."""
    import types

    from dtflw.runtime import current_runtime

    dbutils, spark = cluster

    def display_html(html):
        return html

    namespace = {"dbutils": dbutils, "spark": spark, "displayHTML": display_html}
    shell = types.SimpleNamespace(user_ns=namespace)
    monkeypatch.setitem(__import__("sys").modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    runtime = current_runtime()
    assert (runtime.notebook_path, runtime.user, runtime.job_type) == (
        "/Users/tester@example.com/p/main",
        "tester@example.com",
        None,
    )
    assert runtime.spark is spark and runtime.display_html is display_html
    assert current_runtime() is runtime, "the same notebook: the same runtime"
    assert init_args("year")["year"].value == "1997"
    with init_flow(DbfsStorage("r", spark)) as flow:  # dbutils: the notebook's, found when used
        assert flow.notebook("write").run() == "ran"
    assert [i.name for i in DbfsStorage("r", spark, dbutils).list_dir("r/_dtflw/runs")][0].endswith(".json")


def test_the_local_dbfs_stand_in_is_a_file_storage_too(tmp_path):
    from dtflw.storage.dbfs import LocalDbfsStorage

    storage = LocalDbfsStorage(str(tmp_path), "r")
    assert isinstance(storage, FileStorageBase) and storage.url == "dbfs:/r"
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.csv").write_text("id\n1\n")
    assert storage.list("x/*.csv") == ["dbfs:/x/a.csv"] and storage.exists("dbfs:/x/a.csv")
