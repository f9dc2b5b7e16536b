"""Natural orchestration code under `dtflw plan`, `--select` and lazy runs: `flow["T"]` is the path a
declared step will publish, and a skipped step's `.run()` returns the exit value of its last run."""

from __future__ import annotations

import json
import logging

import pytest

from dtflw.errors import SelectionError
from dtflw.incremental import MAX_KEPT_EXIT_VALUE
from dtflw.run.planning import Planner

CALLEE = """
from dtflw import init_args, init_outputs
token = init_args("token")["token"].value
out = init_outputs("A")["A"].value
spark.range(2).write.mode("overwrite").parquet(out)
dbutils.notebook.exit(json.dumps({"rows": 2, "token": token}))
"""

MAIN = """
import json
from dtflw import init_flow
flow = init_flow()
value = flow.notebook("a").args({"token": "s3cr3t-value"}, secret=["token"]).output("A").run(is_lazy=True)
flow.notebook("b").input("A").output("B").run(is_lazy=True)
dbutils.notebook.exit(json.dumps({"a": value, "A": flow["A"], "B": flow["B"]}))
"""

B = """
from dtflw import init_inputs, init_outputs
spark.read.parquet(init_inputs("A")["A"].value).write.mode("overwrite").parquet(init_outputs("B")["B"].value)
"""


def _workspace(make_workspace, **kwargs):
    ws = make_workspace(**kwargs)
    ws.write("p/a.py", "import json", CALLEE)
    ws.write("p/b.py", B)
    ws.write("p/main.py", MAIN)
    return ws


def _paths(ws):
    folder = ws.storage_folder
    return str(folder / "p/a/A.parquet"), str(folder / "p/b/B.parquet")


def test_while_planning_flow_of_a_table_is_the_path_its_step_will_publish(make_workspace):
    planner = Planner()
    ws = _workspace(make_workspace, planner=planner)
    seen = json.loads(ws.run("p/main.py"))
    assert (seen["A"], seen["B"]) == _paths(ws)
    assert seen["a"] is None, "nothing recorded yet"


def test_a_skipped_step_returns_the_exit_value_of_its_last_run(make_workspace):
    ws = _workspace(make_workspace)
    first = json.loads(ws.run("p/main.py"))
    assert json.loads(first["a"]) == {"rows": 2, "token": "s3cr3t-value"}, "a real run returns the value itself"
    again = json.loads(ws.run("p/main.py"))
    assert json.loads(again["a"]) == {"rows": 2, "token": "[REDACTED]"}, "skipped: the recorded value, scrubbed"
    state = "".join(p.read_text() for p in (ws.storage_folder / "_dtflw/state").glob("*.json"))
    assert "s3cr3t-value" not in state and "[REDACTED]" in state

    planned = json.loads(_workspace(make_workspace, planner=Planner()).run("p/main.py"))
    assert json.loads(planned["a"]) == {"rows": 2, "token": "[REDACTED]"}, "planning returns the recorded value"


def test_a_step_left_out_by_select_returns_its_recorded_exit_value(make_workspace):
    ws = _workspace(make_workspace)
    ws.run("p/main.py")
    ws = _workspace(make_workspace, select="b")
    seen = json.loads(ws.run("p/main.py"))
    assert json.loads(seen["a"])["rows"] == 2
    assert (seen["A"], seen["B"]) == _paths(ws)
    with pytest.raises(SelectionError, match="main.py: --select/--exclude need the notebook planned first"):
        ws.local.run_file(str(ws.root / "p/main.py"))  # the workspace alone would run every step: refused


def test_an_exit_value_over_the_cap_is_not_kept_and_the_log_says_so(make_workspace, caplog):
    ws = make_workspace()
    ws.write(
        "p/big.py",
        "from dtflw import init_outputs\n"
        "spark.range(1).write.mode('overwrite').parquet(init_outputs('A')['A'].value)\n"
        f"dbutils.notebook.exit('x' * {MAX_KEPT_EXIT_VALUE + 1})",
    )
    ws.write(
        "p/main.py",
        "from dtflw import init_flow\n"
        "v = init_flow().notebook('big').output('A').run(is_lazy=True)\n"
        "dbutils.notebook.exit(str(len(v)) if v else 'none')",
    )
    with caplog.at_level(logging.WARNING, logger="dtflw"):
        assert ws.run("p/main.py") == str(MAX_KEPT_EXIT_VALUE + 1), "the run itself returns the whole value"
    assert "not kept" in caplog.text and "64 KiB" in caplog.text
    assert ws.run("p/main.py") == "none", "skipped: no value was kept"
