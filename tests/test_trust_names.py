"""Issue 18, point 7: names that don't match. An argument the notebook never declares nor reads is a warning
naming the closest widget (an error under `--strict` and in the pytest kit); `init_inputs("Trip")` when the
caller passed `Trips_in` is a typed error at that call naming both, not a Spark error later. Real notebooks
on the local runtime, run by real flows and by the `dtflw` command."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dtflw.cli import main
from dtflw.errors import NotebookFailedError, WidgetNameError
from dtflw.local.dbutils import WidgetNotDefinedError

YEAR = """
dbutils.widgets.text("year", "2000")
dbutils.notebook.exit(dbutils.widgets.get("year"))
"""
CALLS_YEAR = """
from dtflw import init_flow
flow = init_flow()
dbutils.notebook.exit(flow.notebook("year").args({"yr": 2024}).run())
"""
TRIPS = """
from dtflw import init_inputs, init_outputs
trips = init_inputs("Trip")["Trip"].value
spark.read.parquet(trips).write.mode("overwrite").parquet(init_outputs("Counts")["Counts"].value)
"""
MAKES_TRIPS = """
spark.range(3).write.mode("overwrite").parquet(dbutils.widgets.get("Trips_out"))
"""
CALLS_TRIPS = """
from dtflw import init_flow
flow = init_flow()
flow.notebook("make").output("Trips").run()
flow.notebook("trips").input("Trips").output("Counts").run()
"""


@pytest.fixture
def names(caplog):
    """The dtflw warnings logged, as one text."""
    caplog.set_level(logging.WARNING, logger="dtflw")
    return lambda: "\n".join(r.getMessage() for r in caplog.records if r.name == "dtflw")


def test_an_argument_the_callee_never_reads_is_a_warning_with_the_close_name(workspace, names):
    workspace.write("p/year.py", YEAR)
    workspace.write("p/main.py", CALLS_YEAR)
    assert workspace.run("p/main.py") == "2000"  # the argument had no effect: the warning says so
    assert (
        "Notebook '/Users/tester@example.com/p/year': argument \"yr\" is passed but never declared nor read" in names()
    )
    assert 'did you mean "year"?' in names()


def test_under_strict_it_is_an_error_naming_both(make_workspace):
    workspace = make_workspace(strict=True)
    workspace.write("p/year.py", YEAR)
    workspace.write("p/main.py", CALLS_YEAR)
    with pytest.raises(NotebookFailedError) as failed:  # the step fails, and so the orchestration notebook
        workspace.run("p/main.py")
    assert isinstance(failed.value.__cause__, WidgetNameError)
    assert 'argument "yr" is passed but never declared nor read (did you mean "year"?)' in str(failed.value)


def test_what_counts_as_read_table_widgets_the_job_widget_getall_sql_and_getargument(make_workspace, names):
    workspace = make_workspace(strict=True)
    workspace.write("p/all.py", "dbutils.notebook.exit(str(sorted(dbutils.widgets.getAll())))")
    workspace.write("p/arg.py", "dbutils.notebook.exit(dbutils.widgets.getArgument('maybe', 'none'))")
    (workspace.root / "p/sql.sql").write_text("-- Databricks notebook source\nSELECT '${year}' AS y\n")
    passed = {"a": "1", "T_in": "", "U_out": "/x", "dtflw_job": "{}"}
    assert workspace.local.run("p/all", {"a": "1", "b": "2"}) == "['a', 'b']"
    with pytest.raises(WidgetNameError, match='argument "a" is passed'):  # table widgets and dtflw_job: known
        workspace.local.run("p/arg", passed)
    assert workspace.local.run("p/arg", {"maybe": "yes", "T_in": "", "dtflw_job": "{}"}) == "yes"
    workspace.local.run("p/sql", {"year": "2024"})
    assert not names()


def test_a_misspelt_arg_of_dtflw_run_and_plan(workspace):
    workspace.write(
        "p/main.py", 'dbutils.widgets.text("year", "2000")\ndbutils.notebook.exit(dbutils.widgets.get("year"))'
    )

    arguments = [str(workspace.root / "p/main.py"), "--storage", str(workspace.storage_folder), "--arg", "yaer=2024"]

    def invoke(*extra):
        return CliRunner().invoke(main, [*extra, *arguments], catch_exceptions=False)

    warned = subprocess.run(  # a process of its own: the warning as a user sees it, on stderr
        [os.path.join(os.path.dirname(sys.executable), "dtflw"), "run", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert warned.returncode == 0 and warned.stdout.strip() == "2000", warned.stderr
    assert 'argument "yaer" is passed but never declared nor read (did you mean "year"?)' in warned.stderr
    for command in ("run", "plan"):
        refused = invoke(command, "--strict")
        assert refused.exit_code == 1, refused.output
        assert "WidgetNameError" in refused.stderr and '"yaer"' in refused.stderr and '"year"' in refused.stderr
    on_databricks = invoke("run", "--strict", "--on", "databricks")
    assert on_databricks.exit_code == 2 and "--strict apply to local runs only" in on_databricks.stderr


def test_a_pipeline_file_param_misspelt_on_the_command_line(workspace, names):
    workspace.write("p/year.py", YEAR)
    (workspace.root / "p/pipeline.yml").write_text(
        "params: {year: 2000}\nsteps:\n  - notebook: year\n    args: {year: '${year}'}\n"
    )
    workspace.run("p/pipeline.yml", {"yaer": "2024"})
    assert 'argument "yaer" is passed but never declared nor read (did you mean "year"?)' in names()


def test_under_strict_a_pipeline_file_refuses_a_misspelt_param_before_any_step_runs(make_workspace):
    workspace = make_workspace(strict=True)
    workspace.write(
        "p/year.py", YEAR.replace("dbutils.notebook.exit", "open('ran', 'w').close() or dbutils.notebook.exit")
    )
    (workspace.root / "p/pipeline.yml").write_text(
        "params: {year: 2000}\nsteps:\n  - notebook: year\n    args: {year: '${year}'}\n"
    )
    with pytest.raises(NotebookFailedError) as failed:
        workspace.run("p/pipeline.yml", {"yaer": "2024"})
    assert isinstance(failed.value.__cause__, WidgetNameError)
    assert 'argument "yaer" is passed but never declared nor read (did you mean "year"?)' in str(failed.value)
    assert not (workspace.root / "p/ran").exists()
    assert '"year": "2024"' in workspace.run("p/pipeline.yml", {"year": "2024"})
    assert (workspace.root / "p/ran").exists()


def test_init_inputs_of_a_name_the_caller_did_not_pass_names_both_at_that_call(workspace):
    workspace.write("p/make.py", MAKES_TRIPS)
    workspace.write("p/trips.py", TRIPS)
    workspace.write("p/main.py", CALLS_TRIPS)
    with pytest.raises(NotebookFailedError) as failed:
        workspace.run("p/main.py")
    error = failed.value.__cause__
    assert isinstance(error, WidgetNameError), failed.value
    assert "asks for input 'Trip' (widget 'Trip_in')" in str(error)
    assert "it passed input 'Trips' (widget 'Trips_in')" in str(error)
    assert failed.value.line == 3 and failed.value.notebook_path.endswith("/p/trips")  # init_inputs, not the read
    assert not (workspace.storage_folder / "p/trips/Counts.parquet").exists()


def test_init_outputs_and_init_args_too(workspace):
    workspace.write("p/out.py", 'from dtflw import init_outputs\ninit_outputs("Count")')
    workspace.write("p/arg.py", 'from dtflw import init_args\ninit_args("year")')
    with pytest.raises(
        NotebookFailedError, match=r"asks for output 'Count'.*it passed output 'Counts' \(widget 'Counts_out'\)"
    ):
        workspace.local.run("p/out", {"Counts_out": "/o"})
    with pytest.raises(
        NotebookFailedError, match=r"asks for argument 'year'.*it passed argument 'years' \(widget 'years'\)"
    ):
        workspace.local.run("p/arg", {"years": "2024", "T_in": "/t"})


def test_a_name_only_somewhat_close_is_a_warning_not_an_error(workspace, names):
    workspace.write(
        "p/arg.py",
        'from dtflw import init_args\ndate = init_args("run_date")["run_date"].value\n'
        'dbutils.notebook.exit(date + dbutils.widgets.get("run_mode"))',
    )
    assert workspace.local.run("p/arg", {"run_mode": "full", "T_in": "/t"}) == "full"  # an optional arg, not a typo
    assert "asks for argument 'run_date' (widget 'run_date'), which its caller did not pass" in names()


def test_a_notebook_run_by_hand_reads_empty_as_in_0_6(workspace, names):
    workspace.write(
        "p/trips.py",
        'from dtflw import init_inputs, init_args\ndbutils.notebook.exit(repr(init_inputs("Trip")["Trip"].value + init_args("year")["year"].value))',
    )
    assert workspace.local.run("p/trips", {}) == "''"
    assert workspace.local.run("p/trips", {"yr": "1"}) == "''"  # no table widget: not run by a flow
    assert 'argument "yr"' in names() and "asks for" not in names()


def test_under_a_flow_a_name_with_no_close_match_warns_and_reads_empty(workspace, names):
    workspace.write(
        "p/trips.py",
        'from dtflw import init_inputs\ndbutils.notebook.exit(repr(init_inputs("Weather", "Trips")["Weather"].value))',
    )
    assert workspace.local.run("p/trips", {"Trips_in": "/t"}) == "''"
    assert "asks for input 'Weather' (widget 'Weather_in'), which its caller did not pass; it reads as \"\"" in names()


def test_a_widget_read_that_was_not_passed_names_the_argument_that_was(workspace):
    workspace.write("p/get.py", 'dbutils.widgets.get("year")')
    with pytest.raises(NotebookFailedError) as failed:
        workspace.local.run("p/get", {"yr": "2024"})
    assert isinstance(failed.value.__cause__, WidgetNotDefinedError)
    assert 'an argument "yr" was passed: did you mean "year"?' in str(failed.value)


def test_the_pytest_kit_fails_a_test_whose_args_the_notebook_never_reads(engine, tmp_path):
    from dtflw.testing.harness import NotebookTester

    root = tmp_path / "ws"
    (root / "nb").mkdir(parents=True)
    (root / "nb/year.py").write_text("# Databricks notebook source\n" + YEAR)
    tester = NotebookTester(engine, str(root), "file://" + str(tmp_path / "storage"), str(tmp_path / "state"))
    assert tester.run_notebook("nb/year", args={"year": 2024}).exit_value == "2024"
    with pytest.raises(
        WidgetNameError, match='"yr" is passed but never declared nor read \\(did you mean "year"\\?\\)'
    ):
        tester.run_notebook("nb/year", args={"yr": 2024})
    with pytest.raises(WidgetNameError, match='"yaer"'):
        tester.run_flow("nb/year", args={"yaer": 2024})
