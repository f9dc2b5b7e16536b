"""What a new user hits with the `dtflw` command: the example from a fresh clone, clear errors, a full summary."""

from __future__ import annotations

import gc
import json
import pathlib
import subprocess
import sys
import textwrap

from click.testing import CliRunner

from dtflw.cli import main

REPO = pathlib.Path(__file__).resolve().parents[1]


def _run(*arguments):
    return CliRunner().invoke(main, [str(a) for a in arguments], catch_exceptions=False)


def test_the_example_runs_from_a_fresh_clone_without_raw_data(tmp_path):
    storage = tmp_path / "storage"
    result = _run("run", REPO / "notebooks" / "main.py", "--storage", storage, "--dbfs-root", tmp_path / "dbfs")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["runs"]["bronze/ingest_orders"]["Orders"] > 0
    for name in ("orders.csv", "order_items.csv", "customers.csv", "products.csv"):
        assert (storage / "raw" / name).read_bytes() == (REPO / "notebooks/data/sample" / name).read_bytes()


def test_a_file_that_is_not_a_notebook_is_named_so(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# hello\n")
    result = _run("run", readme, "--storage", tmp_path / "s")
    assert result.exit_code == 1
    assert "NotANotebookError" in result.stderr and "is not a notebook" in result.stderr
    assert "dtflw run summary" not in result.stderr  # nothing ran: no empty summary


def test_lineage_of_a_storage_that_does_not_exist_is_an_error(tmp_path):
    for command in (["show"], ["export", "--format", "json"]):
        result = _run("lineage", *command, "--storage", tmp_path / "nonexistent")
        assert result.exit_code == 1, result.output
        assert "No lineage" in result.stderr and str(tmp_path / "nonexistent") in result.stderr


def _project(workspace):
    workspace.write(
        "p/lib/helpers.py",
        "from dtflw import init_outputs\n\ndef produce():\n    import shaky\n    shaky.explode()",
    )
    (workspace.root / "p" / "shaky.py").write_text("def explode():\n    raise ValueError('deep down')\n")
    workspace.write(
        "p/a_notebook_with_a_rather_long_name_that_must_not_be_cut.py",
        "from dtflw import init_outputs\nspark.range(1).write.parquet(init_outputs('T')['T'].value)",
    )
    workspace.write(
        "p/main.py",
        textwrap.dedent(
            """
            from dtflw import init_flow
            print("the notebook's own print")
            flow = init_flow()
            flow.notebook("a_notebook_with_a_rather_long_name_that_must_not_be_cut").output("T").run()
            flow.notebook("b").input("T").output("U").run()
            """
        ),
    )
    workspace.write("p/b.py", "# MAGIC %run ./lib/helpers", "produce()")
    return workspace


def _invoke(workspace, command, *extra):
    return _run(
        command, workspace.root / "p/main.py", "--storage", workspace.storage_folder, "--dbfs-root",
        workspace.dbfs_folder, "--user", "cli@example.com", *extra,
    )  # fmt: skip


def test_traceback_shows_frames_in_run_helpers_and_imported_modules_and_the_summary_keeps_names(workspace):
    _project(workspace)
    result = _invoke(workspace, "run", "--traceback")
    assert result.exit_code == 1
    err = result.stderr
    assert "a_notebook_with_a_rather_long_name_that_must_not_be_cut" in err.replace("\n", "").replace("│", "")
    assert "p/a_notebook_with_a_rather_long_name_that_must_not_be_cut " in err  # one piece, in the summary
    assert f'{workspace.root}/p/lib/helpers.py", line 6, in produce' in err
    assert f'{workspace.root}/p/shaky.py", line 2, in explode' in err
    assert "ValueError: deep down" in err
    without = _invoke(workspace, "run").stderr
    assert "shaky.py" not in without and "Traceback" not in without and "--traceback" in without


def test_plan_keeps_the_notebooks_prints_out_of_its_output(workspace):
    _project(workspace)
    result = _invoke(workspace, "plan")
    assert result.exit_code == 0, result.output
    assert "the notebook's own print" not in result.stdout
    assert "the notebook's own print" in result.stderr
    assert "[runs: not lazy]" in result.stdout


def test_traceback_of_a_failed_dag_step_reaches_into_its_modules(workspace):
    (workspace.root / "p").mkdir()
    (workspace.root / "p" / "shaky.py").write_text("def explode():\n    raise KeyError('in a dag')\n")
    workspace.write("p/step.py", "import shaky\nshaky.explode()")
    workspace.write(
        "p/main.py",
        "from dtflw import init_flow\nflow = init_flow()\n"
        "with flow.dag() as dag:\n    dag.add(flow.notebook('step').output('T'))",
    )
    result = _invoke(workspace, "run", "--traceback")
    assert result.exit_code == 1
    assert f'{workspace.root}/p/shaky.py", line 2, in explode' in result.stderr
    assert "DagFailedError" in result.stderr


def test_relative_paths_given_to_the_cli_are_relative_to_where_it_runs(workspace, tmp_path, monkeypatch):
    workspace.write(
        "p/main.py",
        "from dtflw import init_flow\nflow = init_flow()\n"
        "dbutils.notebook.exit(dbutils.secrets.get('kv', 'k') + '|' + flow.notebook('step').output('T').run())",
    )
    workspace.write("p/step.py", "from dtflw import init_outputs\nspark.range(1).write.parquet(init_outputs('T')['T'].value)\n"
                    "dbutils.notebook.exit('ok')")  # fmt: skip
    here = tmp_path / "here"
    here.mkdir()
    (here / "secrets.json").write_text(json.dumps({"kv": {"k": "v"}}))
    monkeypatch.chdir(here)
    result = _run(
        "run", workspace.root / "p/main.py", "--storage", "lake", "--secrets-file", "secrets.json",
        "--dbfs-root", "dbfs",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "v|ok"
    assert (here / "lake" / "p" / "step" / "T.parquet").is_dir()


def test_managed_tables_stay_out_of_the_notebooks_folder(workspace, tmp_path, monkeypatch):
    workspace.write("p/main.py", "spark.sql('CREATE TABLE managed AS SELECT 1 AS a')\nspark.table('managed').collect()")
    monkeypatch.chdir(tmp_path)
    result = _run("run", workspace.root / "p/main.py", "--storage", "lake", "--dbfs-root", "dbfs")
    assert result.exit_code == 0, result.output
    assert not (workspace.root / "p" / "spark-warehouse").exists()
    assert any((tmp_path / ".dtflw" / "unity-catalog" / "managed").iterdir())  # the local Unity Catalog's storage


def test_the_command_as_a_program_leaves_what_it_imported_to_the_gc_freeze_and_in_process_it_does_not(workspace):
    """`python -m dtflw.cli` freezes what it imported before the command (its GC then walks only what the run
    allocates); `main` called in a process of someone else's (a test, a notebook) leaves its GC alone."""
    workspace.write("p/nb.py", "import gc\ndbutils.notebook.exit(str(gc.get_freeze_count()))")
    arguments = ["run", str(workspace.root / "p/nb.py"), "--storage", str(workspace.storage_folder)]
    arguments += ["--dbfs-root", str(workspace.dbfs_folder)]
    command = [sys.executable, "-m", "dtflw.cli", *arguments]
    as_program = subprocess.run(command, capture_output=True, text=True, cwd=workspace.root)
    assert as_program.returncode == 0, as_program.stderr
    assert int(as_program.stdout.strip().splitlines()[-1]) > 10_000  # the modules, classes, functions

    before = gc.get_freeze_count()
    in_process = _run(*arguments)
    assert in_process.exit_code == 0, in_process.output
    assert int(in_process.stdout.strip().splitlines()[-1]) == before == gc.get_freeze_count()
