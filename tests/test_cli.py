"""The `dtflw` command: run and plan an orchestration notebook."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dtflw.cli import main

PRODUCER = (
    "from dtflw import init_outputs\nspark.range(3).write.mode('overwrite').parquet(init_outputs('T')['T'].value)"
)
CONSUMER = """
from dtflw import init_inputs, init_outputs
n = spark.read.parquet(init_inputs("T")["T"].value).count()
spark.range(n).write.mode("overwrite").parquet(init_outputs("U")["U"].value)
dbutils.notebook.exit(str(n))
"""
MAIN = """
from dtflw import init_flow, init_args
args = init_args({"who": "nobody"})
flow = init_flow()
flow.notebook("producer").output("T").run()
result = flow.notebook("consumer").input("T").output("U").run()
dbutils.notebook.exit(f"{args['who'].value}:{result}")
"""


@pytest.fixture
def project(workspace):
    workspace.write("p/producer.py", PRODUCER)
    workspace.write("p/consumer.py", CONSUMER)
    workspace.write("p/main.py", MAIN)
    return workspace


def invoke(project, command, *extra):
    arguments = [
        command, str(project.root / "p/main.py"),
        "--storage", str(project.storage_folder), "--dbfs-root", str(project.dbfs_folder), "--user", "cli@example.com",
        *extra,
    ]  # fmt: skip
    return CliRunner().invoke(main, arguments, catch_exceptions=False)


def test_run_prints_progress_a_summary_and_the_exit_value(project):
    result = invoke(project, "run", "--arg", "who=ann", "--conf", "spark.sql.shuffle.partitions=2")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "ann:3"
    assert "▶ running  /Users/cli@example.com/p/producer" in result.stderr
    assert "✔ done     /Users/cli@example.com/p/consumer" in result.stderr
    assert "dtflw run summary" in result.stderr
    assert (project.storage_folder / "p/consumer/U.parquet").is_dir()


def test_lazy_rerun_skips_what_is_up_to_date(project):
    assert invoke(project, "run").exit_code == 0
    result = invoke(project, "run", "--lazy")
    assert result.exit_code == 0
    assert result.stderr.count("(up to date)") == 2


def test_a_failure_exits_non_zero_and_names_the_notebook(project):
    project.write("p/consumer.py", "raise RuntimeError('consumer broke')")
    result = invoke(project, "run")
    assert result.exit_code == 1
    assert "✖ failed   /Users/cli@example.com/p/consumer" in result.stderr
    assert "NotebookFailedError" in result.stderr and "consumer broke" in result.stderr


def test_bad_options_are_usage_errors(project):
    assert invoke(project, "run", "--arg", "no-equals-sign").exit_code == 2
    assert invoke(project, "run", "--engine", "flink").exit_code == 2
    result = invoke(project, "run", "--storage", "r2://bucket/x")
    assert result.exit_code == 1 and "scheme 'r2' is unknown" in result.stderr


def test_plan_shows_levels_paths_and_lazy_decisions_without_running(project):
    result = invoke(project, "plan", "--lazy")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "level 1\n    /Users/cli@example.com/p/producer  [runs: output T missing]" in out
    assert "level 2\n    /Users/cli@example.com/p/consumer  [runs: upstream producer runs first]" in out
    assert f"output T → {project.storage_folder}/p/producer/T.parquet" in out
    assert not project.storage_folder.exists(), "plan runs no notebook and records nothing"
    assert invoke(project, "run").exit_code == 0
    again = invoke(project, "plan", "--lazy").stdout
    assert again.count("[skips: up to date]") == 2


def test_plan_reports_a_bad_graph(project):
    project.write(
        "p/main.py",
        "from dtflw import init_flow\nflow = init_flow()\n"
        "flow.notebook('producer').output('T').run()\nflow.notebook('consumer').output('T').run()",
    )
    result = invoke(project, "plan")
    assert result.exit_code == 1
    assert "DuplicateProducerError" in result.stderr and "Table 'T' is produced by both 'producer'" in result.stderr


def test_the_remote_engine_runs_on_any_spark_connect_server(project, engine):
    engine.session  # noqa: B018 - the session's Sail server stands in for any Spark Connect server
    result = invoke(project, "run", "--engine", "remote", "--remote-url", engine.url, "--arg", "who=remote")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "remote:3"


def test_select_and_exclude_pick_eager_steps(project):
    assert invoke(project, "run").exit_code == 0
    project.write("p/producer.py", PRODUCER.replace("range(3)", "range(5)"))  # a re-run would be seen downstream
    for chosen in (("--select", "consumer"), ("--exclude", "T")):
        result = invoke(project, "run", *chosen)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip().splitlines()[-1] == "nobody:3", "the left-out producer did not run again"
        assert "⏭ skipped  /Users/cli@example.com/p/producer 0.00s (not selected)" in result.stderr
    result = invoke(project, "run", "--select", "+U")
    assert result.stdout.strip().splitlines()[-1] == "nobody:5"


def written(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_selection_matching_nothing_fails_before_anything_runs(project):
    result = invoke(project, "run", "--select", "+Nowhere")
    assert result.exit_code == 1
    assert "SelectionError" in result.stderr and "'Nowhere' in '+Nowhere' matches no notebook or table" in result.stderr
    assert written(project.storage_folder) == []  # planning takes no lease and writes no table


def test_selection_applies_to_the_orchestration_notebook_not_to_the_notebooks_it_calls(project):
    writer = "from dtflw import init_outputs\nfor o in init_outputs('{0}').values():\n    spark.range(1).write.parquet(o.value)"
    project.write("p/a.py", writer.format("A"))
    project.write("p/b.py", writer.format("B"))
    project.write(
        "p/wrapper.py",
        "from dtflw import init_flow\nflow = init_flow()\nwith flow.dag(workers=2):\n"
        "    flow.notebook('a').output('A').run()\n    flow.notebook('b').input('A').output('B').run()",
    )
    project.write(
        "p/main.py",
        "from dtflw import init_flow\nflow = init_flow()\n"
        "flow.notebook('producer').output('T').run()\nflow.notebook('wrapper').run()",
    )
    plan = invoke(project, "plan", "--select", "wrapper")
    assert "producer  [skips: not selected]" in plan.stdout and "wrapper  [runs: not lazy]" in plan.stdout
    result = invoke(project, "run", "--select", "wrapper")
    assert result.exit_code == 0, result.output
    assert (project.storage_folder / "p/a/A.parquet").is_dir() and (project.storage_folder / "p/b/B.parquet").is_dir()
    assert not (project.storage_folder / "p/producer").exists()


def test_a_notebook_that_cannot_be_planned_is_reported_for_a_selection(project):
    project.write("p/main.py", MAIN.replace("dbutils.notebook.exit", "result.strip()\ndbutils.notebook.exit"))
    result = invoke(project, "run", "--select", "consumer")
    assert result.exit_code == 1
    assert "Planning for --select/--exclude failed" in result.stderr and "or None if none was" in result.stderr
    assert written(project.storage_folder) == []  # planning takes no lease and writes no table


def test_plan_explains_a_notebook_changed_after_it_ran(project):
    project.write(
        "p/main.py",
        "from dtflw import init_flow\nflow = init_flow()\n"
        "nb = flow.notebook('producer').output('T')\nnb.run()\nnb.output('T2').run()",
    )
    result = invoke(project, "plan")
    assert result.exit_code == 1
    assert "Cannot add output 'T2' to notebook 'producer': it is already declared as step 1 of the planned flow" in (
        result.stderr
    )
    assert "flow.notebook('producer')" in result.stderr


def test_volumes_root_is_where_volume_paths_live(workspace, tmp_path):
    volumes = tmp_path / "elsewhere"
    (volumes / "main/raw/files").mkdir(parents=True)
    (volumes / "main/raw/files/n.csv").write_text("n\n1\n2\n")
    workspace.write("p/nb.py", "dbutils.notebook.exit(str(spark.read.csv('/Volumes/main/raw/files/n.csv').count()))")
    arguments = [
        "run",
        str(workspace.root / "p/nb.py"),
        "--dbfs-root",
        str(tmp_path / "d"),
        "--volumes-root",
        str(volumes),
    ]
    result = CliRunner().invoke(main, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("3")
