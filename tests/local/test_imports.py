"""Modules beside notebooks import as on Databricks: the notebook's folder and the project root."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from dtflw.errors import NotebookFailedError, NotebookTimeoutError
from dtflw.local.imports import NotebookImports


def _module(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_a_notebook_imports_modules_from_its_folder_and_the_project_root(workspace):
    _module(workspace.root / "dataflow.py", "def name():\n    return 'root'\n")
    _module(
        workspace.root / "etl" / "helpers.py", "from dataflow import name\ndef tag():\n    return 'etl+' + name()\n"
    )
    _module(workspace.root / "etl" / "pkg" / "__init__.py", "from .inner import VALUE\n")
    _module(workspace.root / "etl" / "pkg" / "inner.py", "VALUE = 7\n")
    workspace.write(
        "etl/nb.py",
        """
        import os, sys
        import dataflow, helpers
        from pkg import VALUE
        import pkg.inner
        dbutils.notebook.exit(",".join([dataflow.name(), helpers.tag(), str(VALUE), str(pkg.inner.VALUE),
                                        os.path.basename(os.getcwd()), str("helpers" in sys.modules)]))
        """,
    )
    assert workspace.run("etl/nb.py") == "root,etl+root,7,7,etl,False"


def test_the_project_root_is_the_nearest_folder_holding_git(tmp_path, make_workspace):
    workspace = make_workspace()
    (workspace.root / "repo" / ".git").mkdir(parents=True)
    _module(workspace.root / "repo" / "shared.py", "WHERE = 'repo'\n")
    workspace.write("repo/jobs/deep/nb.py", "import shared\ndbutils.notebook.exit(shared.WHERE)")
    assert workspace.run("repo/jobs/deep/nb.py") == "repo"


def test_the_working_directory_is_restored_and_a_missing_module_still_fails(workspace):
    before = os.getcwd()
    workspace.write("a/nb.py", "import no_such_module_here")
    with pytest.raises(NotebookFailedError, match="No module named 'no_such_module_here'"):
        workspace.run("a/nb.py")
    assert os.getcwd() == before


def test_a_notebook_abandoned_on_timeout_gives_the_working_directory_back(workspace, tmp_path):
    release = tmp_path / "release"
    workspace.write(
        "stuck/nb.py", f"import os, time\nwhile not os.path.exists({str(release)!r}):\n    time.sleep(0.01)"
    )
    workspace.write("free/nb.py", "import os\ndbutils.notebook.exit(os.path.basename(os.getcwd()))")
    before = os.getcwd()
    with pytest.raises(NotebookTimeoutError):
        workspace.run("stuck/nb.py", timeout_seconds=1)  # still running, on its own thread, in stuck/
    try:
        assert os.getcwd() == before
        assert workspace.run("free/nb.py") == "free"  # later notebooks move it again
    finally:
        release.touch()


def test_a_module_edited_between_two_runs_is_read_again(workspace):
    module = workspace.root / "conf.py"
    workspace.write("nb.py", "import conf\ndbutils.notebook.exit(conf.VALUE)")
    module.write_text("VALUE = 'one'\n")
    assert workspace.run("nb.py") == "one"
    module.write_text("VALUE = 'two'\n")  # same size, same second: still seen
    assert workspace.run("nb.py") == "two"


def test_relative_open_reads_beside_the_notebook(workspace):
    (workspace.root / "cfg").mkdir()
    (workspace.root / "cfg" / "settings.json").write_text('{"k": "v"}')
    workspace.write("cfg/nb.py", "import json\ndbutils.notebook.exit(json.load(open('settings.json'))['k'])")
    assert workspace.run("cfg/nb.py") == "v"


def test_notebooks_running_at_once_see_their_own_folders(workspace):
    for folder in ("left", "right"):
        _module(
            workspace.root / folder / "side.py",
            f"import time\ntime.sleep(0.3)\nNAME = {folder!r}\n",
        )
        workspace.write(
            f"{folder}/nb.py",
            "import side, json\ndbutils.notebook.exit(json.dumps([side.NAME, json.load(open('own.json'))]))",
        )
        (workspace.root / folder / "own.json").write_text(json.dumps(folder))
    workspace.write(
        "main.py",
        """
        import json
        from concurrent.futures import ThreadPoolExecutor
        import contextvars
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(contextvars.copy_context().run, dbutils.notebook.run, f"{side}/nb", 0, {})
                       for side in ("left", "right", "left", "right")]
            results = [json.loads(f.result()) for f in futures]
        dbutils.notebook.exit(json.dumps(results))
        """,
    )
    assert json.loads(workspace.run("main.py")) == [["left", "left"], ["right", "right"]] * 2


def test_a_06_project_with_a_shared_helper_module_runs_unchanged_from_the_cli(tmp_path):
    from click.testing import CliRunner

    from dtflw.cli import main

    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    _module(
        project / "dataflow.py",
        """
        from dtflw import init_flow
        from dtflw.storage.dbfs import init_storage

        NAME = "shared"

        def get_storage():
            return init_storage("lake")

        def get_flow():
            return init_flow(get_storage())
        """,
    )
    _module(
        project / "main.py",
        """
        # Databricks notebook source
        import dataflow

        flow = dataflow.get_flow()
        result = flow.notebook("bronze/ingest").output("T").run()
        dbutils.notebook.exit(result + "|" + flow["T"])
        """,
    )
    _module(
        project / "bronze" / "ingest.py",
        """
        # Databricks notebook source
        import dataflow
        from dtflw import init_outputs

        spark.range(3).write.parquet(init_outputs("T")["T"].value)
        dbutils.notebook.exit(dataflow.NAME)
        """,
    )
    result = CliRunner().invoke(
        main,
        ["run", str(project / "main.py"), "--dbfs-root", str(tmp_path / "dbfs"), "--user", "u@example.com"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    shared, path = result.stdout.strip().splitlines()[-1].split("|")
    assert shared == "shared" and path.endswith("lake/project/bronze/ingest/T.parquet")
    assert (tmp_path / "dbfs" / "lake" / "project" / "bronze" / "ingest" / "T.parquet").is_dir()


def test_a_udf_from_a_module_beside_the_notebook_runs_in_spark(workspace):
    _module(
        workspace.root / "udfs.py",
        """
        from pyspark.sql.functions import udf

        SUFFIX = "!"

        def shout(text):
            import json  # an import inside the function, run where Spark runs it
            return json.dumps(text.upper() + SUFFIX)

        shout_udf = udf(shout, "string")
        """,
    )
    workspace.write(
        "nb.py",
        """
        import udfs
        rows = spark.createDataFrame([("a",), ("b",)], "t string").select(udfs.shout_udf("t").alias("s")).collect()
        dbutils.notebook.exit(",".join(r.s for r in rows))
        """,
    )
    assert workspace.run("nb.py") == '"A!","B!"'


class _BytesPath:
    def __fspath__(self):
        return b"data.txt"


def test_a_relative_path_like_of_bytes_opens_beside_the_notebook(tmp_path, monkeypatch):
    """`open()` takes a path-like of bytes, so the notebook's does too (without the namespaces' `open` in front
    of it, as on the databricks engine, it gets the path-like itself)."""
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "data.txt").write_text("beside")
    monkeypatch.chdir(tmp_path)
    with NotebookImports([str(tmp_path / "nb")]).open(_BytesPath()) as f:
        assert f.read() == "beside"
