"""delta-spark on the JVM engine: where Delta's jars cannot be resolved, a typed error names the way out.

delta-spark (its wheel has no jar) is installed apart from the main environment — beside it, every JVM
test would need Maven — into .venv/delta-spark (`make test`), and put on the path of a fresh process.
Ivy is pointed at a repository on 127.0.0.1 that refuses connections, as a machine without Maven does.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

DELTA_SPARK = pathlib.Path(sys.prefix) / "delta-spark"
IVY_SETTINGS = """<ivysettings>
  <settings defaultResolver="mirror"/>
  <resolvers><ibiblio name="mirror" m2compatible="true" root="http://127.0.0.1:9/maven2/"/></resolvers>
</ivysettings>
"""
START = """
from dtflw.engines import create_engine
from dtflw.errors import EngineUnavailableError
engine = create_engine("spark", {"spark.jars.ivySettings": IVY, "spark.jars.ivy": CACHE})
try:
    engine.session
except EngineUnavailableError as e:
    print("EngineUnavailableError:", e)
    raise SystemExit(3)
"""


def start_jvm_engine(tmp_path, with_delta: bool):
    (tmp_path / "ivysettings.xml").write_text(IVY_SETTINGS)
    script = f"IVY = {str(tmp_path / 'ivysettings.xml')!r}\nCACHE = {str(tmp_path / 'ivy')!r}\n" + START
    env = {**os.environ, "PYTHONPATH": str(DELTA_SPARK) if with_delta else ""}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True, timeout=180
    )


def needs_delta_spark():
    if not (DELTA_SPARK / "delta").is_dir():
        pytest.skip(f"delta-spark is not installed at {DELTA_SPARK}: `make test` installs it there")


@pytest.mark.jvm
@pytest.mark.slow
def test_unresolvable_delta_jars_are_a_typed_error_naming_engine_sail(tmp_path):
    needs_delta_spark()
    run = start_jvm_engine(tmp_path, with_delta=True)
    assert run.returncode == 3, run.stdout + run.stderr[-2000:]
    assert "delta-spark is installed" in run.stdout and "delta-spark 4." in run.stdout
    assert "Use --engine sail" in run.stdout
    assert "Traceback" not in run.stderr


@pytest.mark.jvm
@pytest.mark.slow
def test_without_delta_spark_the_jvm_engine_ignores_ivy(tmp_path):
    run = start_jvm_engine(tmp_path, with_delta=False)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]


def test_with_delta_spark_the_jvm_builder_asks_for_delta_s_jars_and_extensions(monkeypatch):
    needs_delta_spark()
    from pyspark.sql import SparkSession

    from dtflw.engines import jvm_delta

    monkeypatch.syspath_prepend(str(DELTA_SPARK))
    try:
        builder, needs = jvm_delta.with_delta(SparkSession.Builder())  # a builder of its own: nothing shared
    finally:  # forget the modules loaded from delta-spark's folder
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", "") or "").startswith(str(DELTA_SPARK)):
                del sys.modules[name]
    options = builder._options
    assert options["spark.jars.packages"].startswith("io.delta:delta-spark_")
    assert options["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert options["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert needs.startswith("the jars of delta-spark 4.")
