"""Issue 18 point 9: an optional part that is not installed is a typed error naming the `pip install 'dtflw[extra]'`
to run, never a `ModuleNotFoundError` traceback. The real `dtflw` command runs in a process where the extra's
packages cannot be imported (a meta-path blocker installed by a sitecustomize on PYTHONPATH)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from testkit import notebook_source

DTFLW = os.path.join(os.path.dirname(sys.executable), "dtflw")
BLOCKER = """
import os, sys

BLOCKED = tuple(os.environ["DTFLW_TEST_BLOCK"].split(","))


class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED or name.startswith(tuple(b + "." for b in BLOCKED)):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Uninstalled())
"""
DOCUMENT = {
    "format": "dtflw-lineage",
    "version": 1,
    "flow_run": {"run_id": "r1", "notebook_path": "/Users/u/p/main", "storage_url": "", "root_dir": "",
                 "started": 1.0, "ended": 2.0, "status": "succeeded"},
    "notebook_runs": [],
}  # fmt: skip


@pytest.fixture
def project(tmp_path):
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(BLOCKER)
    (tmp_path / "ws" / "p").mkdir(parents=True)
    (tmp_path / "ws" / "p" / "main.py").write_text(notebook_source("x = 1"))
    (tmp_path / "p.yml").write_text("name: p\nsteps:\n  - name: a\n    notebook: ws/p/main\n")
    (tmp_path / "storage" / "_dtflw" / "runs").mkdir(parents=True)
    (tmp_path / "storage" / "_dtflw" / "runs" / "r1.json").write_text(json.dumps(DOCUMENT))
    return tmp_path


CASES = {
    "lineage as json": ("lineage", "orjson", ["lineage", "export", "--format", "json", "--storage", "storage"]),
    "lineage as openlineage": (
        "lineage",
        "openlineage",
        ["lineage", "export", "--format", "openlineage", "--out", "events.jsonl", "--storage", "storage"],
    ),
    "azure storage": (
        "azure",
        "azure",
        ["lineage", "show", "--storage", "abfss://container@account.dfs.core.windows.net/x"],
    ),
    "deploy": ("deploy", "databricks,yaml", ["deploy", "export", "ws/p/main.py", "--format", "job"]),
    "databricks engine": ("databricks", "databricks", ["run", "ws/p/main.py", "--engine", "databricks"]),
    "pipelines": ("pipelines", "yaml,jsonschema", ["pipeline", "check", "p.yml"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_extra_is_a_typed_error_naming_the_pip_install(project, case):
    name, blocked, arguments = CASES[case]
    env = {**os.environ, "PYTHONPATH": str(project / "blocker"), "DTFLW_TEST_BLOCK": blocked}
    env = {k: v for k, v in env.items() if not k.startswith(("DATABRICKS_", "AZURE_", "OPENLINEAGE_"))}
    done = subprocess.run([DTFLW, *arguments], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert f"pip install 'dtflw[{name}]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "ModuleNotFoundError" not in done.stderr, done.stderr


def test_table_assertions_without_the_testing_extra_name_it(project):
    env = {**os.environ, "PYTHONPATH": str(project / "blocker"), "DTFLW_TEST_BLOCK": "chispa"}
    code = "from dtflw.testing.assertions import assert_table_equal\nassert_table_equal(None, [])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "MissingExtraError: assert_table_equal needs the Python package 'chispa'" in done.stderr, done.stderr
    assert "pip install 'dtflw[testing]'" in done.stderr


def test_the_blocker_blocks(project):
    env = {**os.environ, "PYTHONPATH": str(project / "blocker"), "DTFLW_TEST_BLOCK": "yaml"}
    done = subprocess.run([sys.executable, "-c", "import yaml"], env=env, capture_output=True, text=True)
    assert "ModuleNotFoundError: No module named 'yaml'" in done.stderr


def test_an_import_missing_within_an_extra_is_told_as_that_extra():
    from dtflw.errors import MissingExtraError
    from dtflw.extras import extra, require

    told = r"Reading X needs the Python package 'nowhere_pkg'.*dtflw\[azure\]"
    with pytest.raises(MissingExtraError, match=told), extra("azure", "Reading X"):
        import nowhere_pkg  # noqa: F401
    with pytest.raises(ImportError, match=r"'nowhere_pkg\.sub'.*dtflw\[deploy\]"):  # still an ImportError
        require("deploy", "dtflw deploy", "json", "nowhere_pkg.sub")
    require("deploy", "dtflw deploy", "json")
