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

pytestmark = [pytest.mark.jvm, pytest.mark.slow]

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


def test_unresolvable_delta_jars_are_a_typed_error_naming_engine_sail(tmp_path):
    if not (DELTA_SPARK / "delta").is_dir():
        pytest.skip(f"delta-spark is not installed at {DELTA_SPARK}: `make test` installs it there")
    run = start_jvm_engine(tmp_path, with_delta=True)
    assert run.returncode == 3, run.stdout + run.stderr[-2000:]
    assert "delta-spark is installed" in run.stdout and "delta-spark 4." in run.stdout
    assert "Use --engine sail" in run.stdout
    assert "Traceback" not in run.stderr


def test_without_delta_spark_the_jvm_engine_ignores_ivy(tmp_path):
    run = start_jvm_engine(tmp_path, with_delta=False)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
