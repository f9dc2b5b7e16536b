"""The databricks engine where databricks-connect is not installed (the main environment): its errors.
The engine at work is tested in its own environment (tests/databricks, `make test-databricks`)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from testkit import notebook_source

from dtflw.cli import main
from dtflw.engines import create_engine
from dtflw.errors import DatabricksConfigError


def test_an_sc_url_nobody_listens_at_is_named_before_any_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    monkeypatch.delenv("DATABRICKS_CONFIG_PROFILE", raising=False)
    notebook = tmp_path / "ws" / "p" / "nb.py"
    notebook.parent.mkdir(parents=True)
    notebook.write_text(notebook_source("open('ran.txt', 'w').write('ran')"))
    url = "sc://127.0.0.1:9/;token=dapi-secret-123"
    result = CliRunner().invoke(main, ["run", str(notebook), "--engine", "databricks", "--remote-url", url])
    assert result.exit_code == 1
    assert "No Spark Connect server answers at sc://127.0.0.1:9: start it, or fix --remote-url" in result.output
    assert "dapi-secret-123" not in result.output
    assert not (tmp_path / "ran.txt").exists()


def test_without_databricks_sdk_the_engine_says_what_to_install(monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1:9")
    with create_engine("databricks", cluster_id="c-1") as engine, pytest.raises(DatabricksConfigError) as raised:
        engine.session  # noqa: B018
    assert "pip install 'dtflw[databricks]' (in an environment without pyspark)" in str(raised.value)
