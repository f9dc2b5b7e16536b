"""The seams: a flow takes any runner, a DAG any executor, storages register by URL scheme (also
from entry points), engines by name; credentials never enter the process environment; a notebook
that never touches Spark starts no engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import EntryPoint

import pytest
from testkit import RecordingRunner

from dtflw import init_flow
from dtflw.core.runner import CallerBound, Runner
from dtflw.engines import Engine, create_engine, engine_names, register_engine
from dtflw.errors import EngineError, RuntimeNotFoundError, UnknownStorageSchemeError
from dtflw.storage import ENTRY_POINT_GROUP, StorageEnvironment, from_url, register
from dtflw.storage.local import LocalStorage


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(str(tmp_path / "store"))


class CallerAwareRunner(RecordingRunner):
    """A user's runner that needs absolute paths (as a Jobs API runner does)."""

    caller = None

    def bind_caller(self, notebook_path):
        self.caller = notebook_path


def test_init_flow_takes_any_runner_and_tells_it_the_caller(runtime_at, storage):
    with runtime_at("/Users/a@b.c/project/main") as runtime:
        mine = CallerAwareRunner(result="from my runner")
        flow = init_flow(storage, runner=mine)
        assert isinstance(mine, Runner)
        assert flow.notebook("nb").args({"x": 1}).run() == "from my runner"
        assert mine.calls == [("nb", 0, {"x": "1"})] and mine.caller == "/Users/a@b.c/project/main"
        assert runtime.runner.calls == []  # the runtime's own runner was not used


def test_a_dag_runs_its_steps_on_the_executor_it_is_given(runtime_at, storage):
    with runtime_at(), ThreadPoolExecutor(2, thread_name_prefix="users-pool") as pool:
        threads = []
        runner = RecordingRunner(
            action=lambda path, args: threads.append(__import__("threading").current_thread().name)
        )
        flow = init_flow(storage, runner=runner)
        with flow.dag(executor=pool):
            flow.notebook("a").run()
            flow.notebook("b").run()
        assert sorted(p for p, _, _ in runner.calls) == ["a", "b"]
        assert threads and all(name.startswith("users-pool") for name in threads)
        assert pool.submit(lambda: 1).result() == 1  # the DAG left the user's pool open


class DeclaringExecutor:
    """A step executor of the user's: keeps each step handed over, runs none."""

    collecting = True

    def __init__(self):
        self.steps = []

    def submit(self, step, is_lazy, strict_validation):
        self.steps.append((step.rel_path, is_lazy, sorted(step.get_inputs()), sorted(step.get_outputs())))
        return f"declared {step.rel_path}"

    def dag(self, workers, select, exclude, executor):
        return self


def test_run_hands_each_step_to_the_flows_executor_and_knows_nothing_else(storage):
    from dtflw.core.context import FlowContext
    from dtflw.core.flow import Flow

    mine = DeclaringExecutor()
    flow = Flow(FlowContext(storage, None, None, executor=mine))
    assert flow.dag() is mine
    assert flow.notebook("a").output("A").run(is_lazy=True) == "declared a"
    assert flow.notebook("b").input("A").output("B").run() == "declared b"  # collecting: A resolves later
    assert mine.steps == [("a", True, [], ["A"]), ("b", False, ["A"], ["B"])]
    with pytest.raises(RuntimeNotFoundError, match="without a step executor"):
        Flow(FlowContext(storage, None, None)).notebook("a").run()


def test_a_storage_scheme_registers_by_hand_and_through_an_entry_point(tmp_path, monkeypatch):
    monkeypatch.setattr("dtflw.storage._registered", {})
    made = []

    def r2(url, env, table_format, query):
        made.append((url, env.user, table_format))
        return LocalStorage(str(tmp_path), table_format=table_format)

    with pytest.raises(UnknownStorageSchemeError, match="dtflw.storages"):
        from_url("r2://bucket/root")
    point = EntryPoint("r2", f"{__name__}:entry_point_r2", ENTRY_POINT_GROUP)
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [point] if group == ENTRY_POINT_GROUP else [])
    globals()["entry_point_r2"] = r2
    storage = from_url("r2://bucket/root?format=delta", StorageEnvironment(user="u"))
    assert isinstance(storage, LocalStorage) and made == [("r2://bucket/root", "u", "delta")]
    register("mem", r2)
    from_url("mem://x")
    assert made[-1] == ("mem://x", None, "parquet")


def test_engines_register_by_name(monkeypatch):
    monkeypatch.setattr("dtflw.engines._registered", {})
    register_engine("fake", lambda conf, url: ("fake", conf, url))
    assert "fake" in engine_names() and create_engine("fake", {"a": "1"}, "u") == ("fake", {"a": "1"}, "u")


class PluggedEngine(Engine):
    """An engine a package ships in the `dtflw.engines` entry-point group."""

    name = "plugged"

    @classmethod
    def create(cls, conf, url, **options):
        engine = cls(conf)
        engine.made_with = (url, options)
        return engine


def test_an_engine_class_registers_through_an_entry_point(monkeypatch):
    from dtflw.engines import ENTRY_POINT_GROUP as ENGINES

    monkeypatch.setattr("dtflw.engines._registered", {})
    with pytest.raises(EngineError, match="dtflw.engines"):
        create_engine("plugged")
    point = EntryPoint("plugged", f"{__name__}:PluggedEngine", ENGINES)
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [point] if group == ENGINES else [])
    engine = create_engine("plugged", {"spark.x": "1"}, "sc://h:1", profile="p")
    assert isinstance(engine, PluggedEngine) and engine.made_with == ("sc://h:1", {"profile": "p"})
    assert engine.conf["spark.x"] == "1" and engine.conf["spark.sql.session.timeZone"] == "UTC"
    assert engine_names()[-1] == "plugged" and "sail" in engine_names()


def test_engine_settings_show_no_credential_and_give_an_engine_only_the_options_set(monkeypatch):
    from dtflw.session.local import EngineSettings

    settings = EngineSettings(
        "fake", {"spark.hadoop.key": "s3cret-conf"}, "sc://h:1/;token=dapi-s3cret", cluster_id="c"
    )
    assert "s3cret" not in repr(settings) and "cluster_id='c'" in repr(settings)
    monkeypatch.setattr("dtflw.engines._registered", {})
    register_engine("fake", lambda conf, url, **options: (conf, url, options))
    assert settings.create() == (
        {"spark.hadoop.key": "s3cret-conf"},
        "sc://h:1/;token=dapi-s3cret",
        {"cluster_id": "c"},
    )


def test_an_azure_storage_hands_its_credentials_to_the_engine_not_to_the_environment():
    granted = []
    env = StorageEnvironment(user="u", is_local=True, grant_engine_credentials=granted.append)
    key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkw"
    before = dict(os.environ)
    os.environ["AZURE_STORAGE_ACCOUNT_KEY"] = key
    try:
        storage = from_url("abfss://data@acct.dfs.core.windows.net/root", env)
    finally:
        os.environ.clear()
        os.environ.update(before)
    assert storage.engine_path(storage.get_abs_path("t")).startswith("abfss://")
    assert granted == [{"AZURE_STORAGE_ACCOUNT_NAME": "acct", "AZURE_STORAGE_ACCOUNT_KEY": key}]
    assert key not in os.environ.values()


@pytest.mark.slow
def test_a_run_whose_notebooks_never_touch_spark_imports_no_pyspark(tmp_path):
    root = tmp_path / "ws" / "p"
    root.mkdir(parents=True)
    (root / "main.py").write_text(
        "# Databricks notebook source\nfrom dtflw import init_flow\nflow = init_flow()\n"
        'print(flow.notebook("callee").args({"x": 1}).run())\n'
    )
    (root / "callee.py").write_text(
        '# Databricks notebook source\ndbutils.notebook.exit("ok " + dbutils.widgets.get("x"))\n'
    )
    probe = textwrap.dedent(
        f"""
        import sys
        from dtflw.cli import main
        try:
            main(["run", {str(root / "main.py")!r}, "--storage", {str(tmp_path / "s")!r}])
        except SystemExit as e:
            print("exit", e.code)
        print("HEAVY", [m for m in sys.modules if m.split(".")[0] in ("pyspark", "pysail", "pandas", "pyarrow")])
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "ok 1" in out.stdout and "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_a_notebook_using_spark_gets_its_session_on_first_use(workspace):
    ws = workspace
    ws.write("p/uses.py", "# Databricks notebook source\ndbutils.notebook.exit(str(spark.range(3).count()))\n")
    ws.write("p/plain.py", "# Databricks notebook source\ndbutils.notebook.exit('no spark')\n")
    assert json.loads(ws.run("p/uses.py")) == 3 and ws.run("p/plain.py") == "no spark"


def test_optional_capabilities_are_protocols_checked_with_isinstance():
    from dtflw.engines import WithStorageCredentials, WithUnityCatalog, WithWorkspaceUtils
    from dtflw.engines.jvm import JvmEngine
    from dtflw.engines.sail import SailEngine
    from dtflw.storage.filesystems import ConditionalCreating, LocalFileSystem, TailReading

    sail, jvm = SailEngine(), JvmEngine()
    assert isinstance(sail, WithUnityCatalog) and isinstance(sail, WithStorageCredentials)
    assert isinstance(jvm, WithStorageCredentials)  # it refuses what it cannot reach, naming the jars
    assert not isinstance(jvm, WithUnityCatalog) and not isinstance(jvm, WithWorkspaceUtils)
    assert isinstance(LocalFileSystem(), TailReading) and not isinstance(LocalFileSystem(), ConditionalCreating)
    assert isinstance(CallerAwareRunner(), CallerBound) and not isinstance(RecordingRunner(), CallerBound)
