"""The flow builder: widgets passed, tables published and resolved, validation, laziness, plugins."""

from __future__ import annotations

import datetime
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from testkit import RecordingRunner

from dtflw import init_flow
from dtflw.core.options import RunOptions
from dtflw.errors import (
    ArgumentError,
    InputNotFoundError,
    InvalidNotebookPathError,
    InvalidTableNameError,
    NotebookFailedError,
    OutputNotFoundError,
    PathOutsideStorageError,
    PluginError,
    UnresolvedInputError,
)
from dtflw.events import FlowListener, RunStatus
from dtflw.plugin import FlowPluginBase, NotebookPluginBase
from dtflw.storage.base import FolderStorage

CALLER = "/Repos/a@b.c/project/main"


def write_outputs(storage):
    """A runner action that writes every `<T>_out` it is given as a one-file parquet table."""

    def action(path, arguments):
        for widget, value in arguments.items():
            if widget.endswith("_out"):
                os.makedirs(value, exist_ok=True)
                pq.write_table(pa.table({"id": [1]}), os.path.join(value, "part-0.parquet"))

    return action


@pytest.fixture
def storage(tmp_path):
    return FolderStorage(str(tmp_path / "store"))


@pytest.fixture
def flow_with(storage, runtime_at):
    """A flow at CALLER whose runner writes the outputs (or does what `action` says)."""
    contexts = []

    def make(action="write", result="ok", runtime_kwargs=None):
        runner = RecordingRunner(result, write_outputs(storage) if action == "write" else action)
        context = runtime_at(CALLER, runner=runner, **(runtime_kwargs or {}))
        context.__enter__()
        contexts.append(context)
        return init_flow(storage), runner

    yield make
    for context in reversed(contexts):
        context.__exit__(None, None, None)


def test_run_passes_outputs_as_widgets_and_returns_the_exit_value(flow_with, storage):
    flow, runner = flow_with(result="done")
    assert flow.notebook("nb").output("foo").run() == "done"
    assert runner.calls == [("nb", 0, {"foo_out": storage.base_path + "project/nb/foo.parquet"})]


def test_args_become_strings_and_widgets_follow_the_0_6_naming(flow_with, storage):
    flow, runner = flow_with()
    raw = storage.get_abs_path("raw/orders.csv")
    os.makedirs(os.path.dirname(raw))
    open(raw, "w").close()
    flow.notebook("nb").args({"year": 1997, "rate": 0.5, "day": datetime.date(2024, 1, 2), "on": True}).input(
        "Orders", "raw/orders.csv"
    ).output("Orders").timeout(30).run()
    path, timeout, arguments = runner.calls[0]
    assert (path, timeout) == ("nb", 30)
    assert arguments == {
        "year": "1997",
        "rate": "0.5",
        "day": "2024-01-02",
        "on": "true",
        "Orders_in": raw,
        "Orders_out": storage.base_path + "project/nb/Orders.parquet",
    }


@pytest.mark.parametrize("value", [None, [1, 2], {"a": 1}, object()])
def test_args_that_do_not_convert_to_strings_are_rejected(flow_with, value):
    flow, _ = flow_with()
    with pytest.raises(ArgumentError, match="Argument 'x' of notebook 'nb'"):
        flow.notebook("nb").args({"x": value})


def test_widget_name_collisions_are_rejected_before_running(flow_with):
    flow, runner = flow_with()
    flow.notebook("a").output("T").run()
    nb = flow.notebook("b").args({"T_in": "x"}).input("T")
    with pytest.raises(ArgumentError, match="widget 'T_in' is both an argument and an input"):
        nb.run()
    assert [c[0] for c in runner.calls] == ["a"]


def test_tables_resolve_from_earlier_runs_by_alias_and_self_reads_upstream(flow_with, storage):
    flow, runner = flow_with()
    flow.notebook("ingest").output("Items", alias="Positions").run()
    flow.notebook("clean").input("Items", source_table="Positions").output("Positions").run()
    flow.notebook("clean").input("Positions").output("Positions").run()
    upstream = storage.base_path + "project/ingest/Items.parquet"
    assert runner.calls[1][2]["Items_in"] == upstream
    assert runner.calls[2][2]["Positions_in"] == upstream, "a notebook re-reading its own output reads upstream"
    assert flow["Positions"] == storage.base_path + "project/clean/Positions.parquet"
    assert flow["Unknown"] is None
    with pytest.raises(NotImplementedError, match="published by running notebooks"):
        flow["X"] = "y"


def test_unresolved_and_missing_inputs_fail_before_running(flow_with):
    flow, runner = flow_with()
    with pytest.raises(UnresolvedInputError, match="Input 'Orders' of notebook 'nb'.*no earlier notebook"):
        flow.notebook("nb").input("Orders").run()
    with pytest.raises(InputNotFoundError, match=r"Input 'Orders' of notebook 'nb' not found at '.*raw/none\.csv'"):
        flow.notebook("nb").input("Orders", file_path="raw/none.csv").run()
    assert runner.calls == []


def test_file_paths_outside_the_storage_are_rejected(flow_with):
    flow, runner = flow_with()
    with pytest.raises(PathOutsideStorageError, match="'../elsewhere/x.csv' escapes storage"):
        flow.notebook("nb").input("X", file_path="../elsewhere/x.csv")
    with pytest.raises(PathOutsideStorageError, match="'s3://bucket/x.csv' lies outside storage"):
        flow.notebook("nb").input("X", file_path="s3://bucket/x.csv")
    with pytest.raises(PathOutsideStorageError):
        flow.notebook("nb").output("X", file_path="../../x")
    assert runner.calls == []


def test_optional_missing_input_is_passed_empty(flow_with):
    flow, runner = flow_with()
    flow.notebook("nb").input("Extra", file_path="raw/extra.csv", is_optional=True).output("T").run()
    flow.notebook("nb2").input("Nobody", is_optional=True).run()
    assert runner.calls[0][2]["Extra_in"] == ""
    assert runner.calls[1][2] == {"Nobody_in": ""}


def test_a_missing_output_fails_and_is_not_published(flow_with, storage):
    flow, _ = flow_with(action=None)
    expected = storage.base_path + "project/nb/T.parquet"
    with pytest.raises(OutputNotFoundError, match=f"did not write output 'T' at '{expected}'"):
        flow.notebook("nb").output("T").run()
    assert flow["T"] is None


def test_a_failing_notebook_is_wrapped_with_its_path_and_reported(flow_with):
    def boom(path, arguments):
        raise RuntimeError("kaput")

    flow, _ = flow_with(action=boom)
    ended = []

    class Collect(FlowListener):
        def on_notebook_end(self, flow_run, run):
            ended.append(run)

    flow.add_listener(Collect())
    with pytest.raises(NotebookFailedError, match="Notebook '/Repos/a@b.c/project/nb' failed: kaput"):
        flow.notebook("nb").output("T").run()
    assert [(r.status, r.error) for r in ended] == [(RunStatus.FAILED, "RuntimeError: kaput")]
    assert flow["T"] is None


def test_lazy_runs_skip_when_outputs_exist_but_always_run_without_outputs(flow_with):
    flow, runner = flow_with(result="first")
    nb = flow.notebook("nb").output("T")
    assert nb.run(is_lazy=True) == "first"
    runner.result = "second"
    assert nb.run(is_lazy=True) == "first", "a skipped run returns the previous result"
    assert flow.notebook("nb").output("T").run(is_lazy=True) == "first", "the exit value kept with its record"
    flow.notebook("side_effect").run(is_lazy=True)
    assert [c[0] for c in runner.calls] == ["nb", "side_effect"]


def test_cli_lazy_flag_makes_every_run_lazy(flow_with):
    flow, runner = flow_with(runtime_kwargs={"options": RunOptions(force_lazy=True)})
    flow.notebook("nb").output("T").run()
    flow.notebook("nb").output("T").run()
    assert len(runner.calls) == 1


def test_listeners_see_runs_and_a_failing_listener_does_not_fail_the_flow(flow_with, caplog):
    flow, _ = flow_with()
    seen = []

    class Broken(FlowListener):
        def on_notebook_start(self, flow_run, run):
            raise ValueError("listener bug")

        def on_notebook_end(self, flow_run, run):
            seen.append((run.notebook_path, run.status, [o.name for o in run.outputs], run.outputs[0].state.exists))

    flow.add_listener(Broken())
    flow.notebook("nb").args({"token": "s3cr3t"}, secret=["token"]).output("T").run()
    assert seen == [("/Repos/a@b.c/project/nb", RunStatus.SUCCEEDED, ["T"], True)]
    assert "listener bug" in caplog.text


def test_secret_args_are_redacted_in_events_and_show(flow_with, capsys):
    flow, runner = flow_with()
    runs = []

    class Collect(FlowListener):
        def on_notebook_end(self, flow_run, run):
            runs.append(run)

    flow.add_listener(Collect())
    nb = flow.notebook("nb").args({"token": "s3cr3t", "year": "2024"}, secret="token")
    nb.run()
    nb.show()
    assert runner.calls[0][2]["token"] == "s3cr3t", "the notebook still gets the real value"
    assert runs[0].args == {"token": "[REDACTED]", "year": "2024"}
    assert "s3cr3t" not in capsys.readouterr().out
    with pytest.raises(ArgumentError, match="Secret names \\['nope'\\]"):
        flow.notebook("nb").args({"a": "b"}, secret=["nope"])


@pytest.mark.parametrize("name", ["", "a/b", "..", "a..b", "with space", "tab\t", "ctl\x01", "../x", None, ".hidden"])
def test_invalid_table_names_are_rejected(flow_with, name):
    flow, _ = flow_with()
    with pytest.raises(InvalidTableNameError, match="notebook 'nb'"):
        flow.notebook("nb").output(name)
    with pytest.raises(InvalidTableNameError, match="notebook 'nb'"):
        flow.notebook("nb").input(name, file_path="x")


@pytest.mark.parametrize("path", ["", "   ", None, " nb", "nb\n"])
def test_invalid_notebook_paths_are_rejected(flow_with, path):
    flow, _ = flow_with()
    with pytest.raises(InvalidNotebookPathError):
        flow.notebook(path)


@pytest.mark.parametrize("value", [-1, 1.5, "10", True])
def test_invalid_timeouts_are_rejected(flow_with, value):
    flow, _ = flow_with()
    with pytest.raises(ArgumentError, match="Timeout of notebook 'nb'"):
        flow.notebook("nb").timeout(value)


def test_invalid_output_format_is_rejected(flow_with):
    flow, _ = flow_with()
    with pytest.raises(ArgumentError, match="format must be 'parquet' or 'delta'"):
        flow.notebook("nb").output("T", format="csv")


def test_show_lists_args_inputs_outputs(flow_with, capsys, storage):
    flow, _ = flow_with()
    flow.notebook("a").output("T").run()
    flow.notebook("b").args({"y": "1"}).input("T").output("U").show()
    flow.show()
    out = capsys.readouterr().out
    assert "Notebook: 'b'\nArgs:\n\t'y': '1'\nInputs:\n\t'T': '" in out
    assert f"Evaluated tables:\n'T'\n  '/Repos/a@b.c/project/a' : '{storage.base_path}project/a/T.parquet'" in out


def test_pipeline_state_keeps_the_latest_run_per_notebook(flow_with):
    flow, _ = flow_with()
    flow.notebook("a").args({"v": "1"}).output("T").run()
    flow.notebook("a").args({"v": "2"}).output("T").run()
    runs = list(flow.ctx.pipeline.runs)
    assert [(r.notebook_path, r.args) for r in runs] == [("/Repos/a@b.c/project/a", {"v": "2"})]


def test_plugins(flow_with):
    flow, _ = flow_with()

    class Count(FlowPluginBase):
        action_name = "count_tables"

        def act(self, flow, prefix=""):
            return prefix + str(len(flow.ctx.tables_repo.tables))

    class Tag(NotebookPluginBase):
        action_name = "tag"

        def act(self, notebook, flow, label):
            notebook.label = label
            return notebook

    class Shadow(FlowPluginBase):
        action_name = "notebook"

        def act(self, flow):
            return None

    flow.install(Count())
    flow.install(Tag())
    assert flow.count_tables("n=") == "n=0"
    assert flow.notebook("nb").tag("x").label == "x"
    with pytest.raises(PluginError, match="already installed"):
        flow.install(Tag())
    with pytest.raises(PluginError, match="'notebook' would replace"):
        flow.install(Shadow())
    with pytest.raises(PluginError, match="Unexpected plugin type int"):
        flow.install(1)


def test_init_flow_takes_a_storage_url(runtime_at, tmp_path):
    with runtime_at(CALLER):
        flow = init_flow(f"file://{tmp_path}/lake?format=delta")
        path = flow.notebook("nb").output("T").get_outputs()["T"].abs_file_path
    assert path == f"{tmp_path}/lake/project/nb/T.delta"
