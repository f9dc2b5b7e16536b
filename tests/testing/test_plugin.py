"""The `dtflw` pytest plugin, run the way users run it: inner pytest sessions (pytester) on notebooks."""

from __future__ import annotations

import textwrap

import pytest
from testkit import notebook_source

pytest_plugins = ["pytester"]

DOUBLE = notebook_source(
    """
    import json
    from pyspark.sql import functions as F
    from dtflw import init_args, init_inputs, init_outputs
    args = init_args({"factor": "2"})
    inputs = init_inputs("Numbers")
    outputs = init_outputs("Doubled")
    """,
    """
    token = dbutils.secrets.get("app", "token")
    numbers = spark.read.parquet(inputs["Numbers"].value)
    doubled = numbers.select("n", (F.col("n") * int(args["factor"].value)).alias("doubled"))
    doubled.write.mode("overwrite").parquet(outputs["Doubled"].value)
    dbutils.notebook.exit(json.dumps({"rows": doubled.count(), "token_length": len(token)}))
    """,
)
MAIN = notebook_source(
    """
    from dtflw import init_flow
    flow = init_flow()
    flow.notebook("double").args({"factor": 3}).input("Numbers", file_path="raw/numbers.parquet").output("Doubled").run()
    dbutils.notebook.exit(flow["Doubled"])
    """
)


@pytest.fixture
def project(pytester, spark):
    """A user's project: notebooks under nb/, tests beside them. Spark's modules (pandas among them) are
    loaded first by the outer session: pytester forgets the modules an inner session imports."""
    import chispa  # noqa: F401

    pytester.makefile(".py", **{"nb/double": DOUBLE, "nb/main": MAIN})
    return pytester


def write_test(pytester, body: str) -> None:
    pytester.makepyfile(test_user=textwrap.dedent(body))


def test_a_notebook_runs_with_dataframe_inputs_and_gives_its_exit_value_tables_and_lineage(project):
    write_test(
        project,
        """
        from dtflw.testing import assert_table_equal

        def test_double(dtflw, dtflw_secrets):
            dtflw_secrets["app"] = {"token": "s3cr3t"}
            numbers = dtflw.spark.createDataFrame([(1,), (2,)], "n long")
            result = dtflw.run_notebook("nb/double", args={"factor": 5}, inputs={"Numbers": numbers}, outputs=["Doubled"])
            assert result.json == {"rows": 2, "token_length": 6}
            assert_table_equal(result.table("Doubled"), [(1, 5), (2, 10)])
            assert list(result.tables) == ["Doubled"]
            assert result.run.status == "succeeded"
            assert result.run.args["factor"] == "5"
            assert [use.name for use in result.run.inputs] == ["Numbers"]
            assert result.lineage.latest_producer("Doubled").notebook_path.endswith("/nb/double")
        """,
    )
    outcome = project.runpytest("-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=1)
    outcome.stdout.fnmatch_lines(["dtflw engine: sail"])


def test_a_table_that_differs_fails_with_chispa_s_row_diff(project):
    write_test(
        project,
        """
        from dtflw.testing import assert_table_equal

        def test_double(dtflw, dtflw_secrets):
            dtflw_secrets["app"] = {"token": "x"}
            numbers = dtflw.spark.createDataFrame([(1,)], "n long")
            result = dtflw.run_notebook("nb/double", inputs={"Numbers": numbers}, outputs=["Doubled"])
            assert_table_equal(result.table("Doubled"), [(1, 3)])
        """,
    )
    outcome = project.runpytest("-p", "no:cacheprovider")
    outcome.assert_outcomes(failed=1)
    outcome.stdout.fnmatch_lines(["*DataFramesNotEqualError*"])


def test_an_orchestration_runs_whole_on_files_put_into_the_storage(project):
    project.makepyfile(make_numbers="import pandas as pd\npd.DataFrame({'n': [4, 5]}).to_parquet('numbers.parquet')\n")
    project.runpython(project.path / "make_numbers.py")
    write_test(
        project,
        """
        from dtflw.testing import assert_approx_table_equal, assert_table_equal

        def test_main(dtflw, dtflw_secrets):
            dtflw_secrets["app"] = {"token": "abc"}
            dtflw.put("numbers.parquet", "raw/numbers.parquet")
            result = dtflw.run_flow("nb/main.py")
            assert result.exit_value.endswith("/nb/double/Doubled.parquet")
            assert_table_equal(result.table("Doubled"), [(4, 12), (5, 15)])
            assert_table_equal(dtflw.read_table(result.exit_value), [(4, 12), (5, 15)])
            assert result.path("Doubled") == result.exit_value
            halved = result.table("Doubled").selectExpr("n", "CAST(doubled AS double) / 7 AS doubled")
            assert_approx_table_equal(halved, [(4, 1.7143), (5, 2.1429)], 1e-3)
        """,
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_pipeline_file_runs_as_an_orchestration_does(project):
    project.makepyfile(make_numbers="import pandas as pd\npd.DataFrame({'n': [4, 5]}).to_parquet('numbers.parquet')\n")
    project.runpython(project.path / "make_numbers.py")
    (project.path / "nb" / "pipeline.yml").write_text(
        "params: {factor: 3}\nsteps:\n  - notebook: double\n    args: {factor: '${factor}'}\n"
        "    inputs: [{name: Numbers, file_path: raw/numbers.parquet}]\n    outputs: [Doubled]\n"
    )
    write_test(
        project,
        """
        from dtflw.testing import assert_table_equal

        def test_pipeline(dtflw, dtflw_secrets):
            dtflw_secrets["app"] = {"token": "abc"}
            dtflw.put("numbers.parquet", "raw/numbers.parquet")
            result = dtflw.run_flow("nb/pipeline.yml", args={"factor": 4})
            assert result.json["tables"]["Doubled"].endswith("/nb/double/Doubled.parquet")
            assert_table_equal(dtflw.read_table(result.json["tables"]["Doubled"]), [(4, 16), (5, 20)])
            assert result.lineage.latest_producer("Doubled").notebook_path.endswith("/nb/double")
        """,
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_mistakes_in_a_test_get_errors_that_say_what_to_fix(project):
    write_test(
        project,
        """
        import pytest
        from dtflw.errors import NotebookFailedError, NotebookTestError

        def test_unknown_notebook(dtflw):
            with pytest.raises(NotebookTestError, match="'nb/nope' not found under the workspace root"):
                dtflw.run_notebook("nb/nope")

        def test_input_of_a_wrong_type(dtflw):
            with pytest.raises(NotebookTestError, match="Input 'Numbers' of 'nb/double' is a int"):
                dtflw.run_notebook("nb/double", inputs={"Numbers": 3})

        def test_output_not_declared(dtflw, dtflw_secrets):
            dtflw_secrets["app"] = {"token": "x"}
            numbers = dtflw.spark.createDataFrame([(1,)], "n long")
            result = dtflw.run_notebook("nb/double", inputs={"Numbers": (numbers, "delta")}, outputs={"Doubled": None})
            with pytest.raises(NotebookTestError, match="no output 'Other'; its outputs: Doubled"):
                result.table("Other")

        def test_no_exit_value_and_unknown_tables(dtflw, dtflw_workspace_root, tmp_path):
            (dtflw_workspace_root / "nb" / "quiet.py").write_text("# Databricks notebook source" + chr(10) + "x = 1" + chr(10))
            with pytest.raises(NotebookTestError, match="neither a file nor a folder"):
                dtflw.put(tmp_path / "nothing.csv", "raw/nothing.csv")
            result = dtflw.run_flow("nb/quiet")
            assert result.exit_value is None
            with pytest.raises(NotebookTestError, match="exited without a value"):
                result.json
            with pytest.raises(NotebookTestError, match="No notebook produced a table 'Doubled'"):
                result.table("Doubled")

        def test_missing_secret_fails_the_notebook(dtflw):
            numbers = dtflw.spark.createDataFrame([(1,)], "n long")
            with pytest.raises(NotebookFailedError, match="Secret 'token' of scope 'app' not found"):
                dtflw.run_notebook("nb/double", inputs={"Numbers": numbers}, outputs=["Doubled"])
        """,
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=5)


def test_the_databricks_engine_without_its_packages_says_what_to_install(project):
    write_test(
        project,
        """
        def test_spark(dtflw_spark):
            pass
        """,
    )
    outcome = project.runpytest("-p", "no:cacheprovider", "--dtflw-engine", "databricks", "--dtflw-cluster-id", "c-1")
    outcome.assert_outcomes(errors=1)
    outcome.stdout.fnmatch_lines(["*DatabricksConfigError: The databricks engine needs databricks-sdk*pip install*"])


def test_the_engine_is_chosen_by_option_or_environment(project, monkeypatch, engine):
    engine.session  # noqa: B018 - the outer Sail server, reached by the inner session as a remote engine
    write_test(
        project,
        """
        def test_engine(dtflw_engine, dtflw_spark):
            assert dtflw_engine.name == "remote"
            assert dtflw_spark.range(3).count() == 3
        """,
    )
    outcome = project.runpytest("-p", "no:cacheprovider", "--dtflw-engine", "remote", "--dtflw-remote-url", engine.url)
    outcome.assert_outcomes(passed=1)
    outcome.stdout.fnmatch_lines(["dtflw engine: remote"])

    monkeypatch.setenv("DTFLW_TEST_ENGINE", "quantum")
    outcome = project.runpytest("-p", "no:cacheprovider")
    outcome.stderr.fnmatch_lines(
        ["*$DTFLW_TEST_ENGINE='quantum' is not an engine; use one of sail, spark, remote, databricks*"]
    )


def test_storages_can_live_below_a_base_url_given_on_the_command_line(project, tmp_path):
    base = tmp_path / "shared-storage"
    write_test(
        project,
        """
        def test_one(dtflw, dtflw_storage, dtflw_secrets):
            dtflw_secrets["app"] = {"token": "x"}
            assert dtflw_storage.startswith("BASE/")
            numbers = dtflw.spark.createDataFrame([(1,)], "n long")
            result = dtflw.run_notebook("nb/double", inputs={"Numbers": numbers}, outputs=["Doubled"])
            assert result.paths["Doubled"].startswith(dtflw_storage[len("file://"):])
        """.replace("BASE", "file://" + str(base)),
    )
    project.runpytest("-p", "no:cacheprovider", "--dtflw-storage", f"file://{base}/").assert_outcomes(passed=1)
    assert len(list(base.iterdir())) == 1


def test_the_kit_asserts_on_expectations_of_a_notebook_and_of_a_flow(project):
    write_test(
        project,
        """
        import pytest
        from dtflw.errors import ExpectationFailedError, NotebookTestError

        def test_expectations(dtflw, dtflw_secrets):
            dtflw_secrets["app"] = {"token": "s3cr3t"}
            numbers = dtflw.spark.createDataFrame([(1,), (-2,), (-3,)], "n int")
            result = dtflw.run_notebook(
                "nb/double", inputs={"Numbers": numbers}, outputs=["Doubled"],
                expectations={"Doubled": {"expect": {"positive": "doubled > 0"}, "expect_table": {"unique": "n"}}},
            )
            assert result.expectations["Doubled"]["positive"].failed == 2
            assert result.expectations["Doubled"]["positive"].passed == 1
            assert result.expectations["Doubled"]["unique"].ok
            with pytest.raises(ExpectationFailedError) as failed:
                dtflw.run_notebook(
                    "nb/double", inputs={"Numbers": numbers}, outputs=["Doubled"],
                    expectations={"Doubled": {"expect_or_fail": {"positive": "doubled > 0"}}},
                )
            assert failed.value.results[0].failed == 2 and "s3cr3t" not in str(failed.value)
            with pytest.raises(NotebookTestError, match="'Other' must be one of its outputs"):
                dtflw.run_notebook("nb/double", outputs=["Doubled"], expectations={"Other": {"expect": {}}})

            dtflw.spark.createDataFrame([(1,), (2,)], "n int").write.parquet(dtflw.storage.get_abs_path("raw/numbers.parquet"))
            flow = dtflw.run_flow("nb/main.py")
            assert flow.expectations == {}
        """,
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
