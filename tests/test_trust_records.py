"""Issue 18, point 2: a step's run record under `_dtflw/state/` is input from outside. Wrong types, a
status other than success, a folder for a record or a file for their folder: never trusted, never a
`TypeError`, never a skip with stale tables; the caller only ever receives a string exit value."""

from __future__ import annotations

import json
import math
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dtflw.incremental import STATE_DIR, Fingerprint, RunHistory, UnknownHistory, decide
from dtflw.storage.base import FolderStorage
from dtflw.storage.tables import TableState

PRODUCE = """
from dtflw import init_outputs
for name, out in init_outputs(*[w[:-4] for w in dbutils.widgets.getAll() if w.endswith("_out")]).items():
    spark.range(3).write.mode("overwrite").parquet(out.value)
dbutils.notebook.exit("wrote " + ",".join(sorted(dbutils.widgets.getAll())))
"""

PIPELINE = """
from dtflw import init_flow
flow = init_flow()
a = flow.notebook("a").output("A").run(is_lazy=True)
flow.notebook("b").input("A").output("B").run(is_lazy=True)
dbutils.notebook.exit(repr(a))
"""


@pytest.fixture
def ws(chain_workspace):
    return chain_workspace(PRODUCE, PIPELINE)


def record_of(ws, name: str):
    for path in (ws.storage_folder / STATE_DIR).iterdir():
        if json.loads(path.read_text())["notebook"].endswith("/p/" + name):
            return path
    raise AssertionError(f"no record of {name}")


def rewrite(path, **fields):
    doc = json.loads(path.read_text())
    for key, value in fields.items():
        if value is ...:
            doc.pop(key)
        else:
            doc[key] = value
    path.write_text(json.dumps(doc))


DAMAGES = {
    "args null": {"args": None},
    "inputs a list": {"inputs": []},
    "args of a number": {"args": {"x": 1}},
    "source a number": {"source": 3},
    "exit value a dict": {"exit_value": {"rows": 3}},
    "status unknown": {"status": "great"},
    "status null": {"status": None},
    "status failed": {"status": "failed"},
    "status missing": {"status": ...},
    "time infinite": {"status": "started", "at": 1e300},
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_record_is_not_trusted_the_step_runs(ws, decisions, damage):
    assert ws.run("p/main.py") == "'wrote A_out'"
    assert ws.run("p/main.py") == "'wrote A_out'"  # skipped: the kept exit value
    assert decisions.take()["a"] == ("skipped", "up to date")
    record = record_of(ws, "a")
    rewrite(record, **DAMAGES[damage])
    assert ws.run("p/main.py") == "'wrote A_out'"  # a string, from the run
    status, reason = decisions.take()["a"]
    assert status == "succeeded"
    assert reason.startswith("run history unreadable at " + str(record)) or "did not finish" in reason
    ws.run("p/main.py")
    assert decisions.take()["a"] == ("skipped", "up to date")  # the run wrote a sound record


def test_a_record_that_is_a_folder_is_not_taken_for_no_record(ws, decisions):
    ws.run("p/main.py")
    record = record_of(ws, "a")
    record.unlink()
    (record / "x").mkdir(parents=True)
    ws.run("p/main.py")
    status, reason = decisions.take()["a"]
    assert status == "succeeded" and f"{record} is a folder" in reason
    ws.run("p/main.py")
    assert decisions.take()["a"] == ("skipped", "up to date")


def test_a_state_folder_that_is_a_file_is_not_taken_for_no_history(ws, decisions):
    ws.run("p/main.py")
    folder = ws.storage_folder / STATE_DIR
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    ws.run("p/main.py")
    runs = decisions.take()
    assert runs["a"][0] == runs["b"][0] == "succeeded"
    assert f"{folder} is a file" in runs["a"][1]


# -- arbitrary JSON ------------------------------------------------------------------------------
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["started", "succeeded", "failed", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["status", "run_id", "at", "source", "args", "inputs", "exit_value", "notebook", "outputs"]
NOTEBOOK, OUTPUTS = "/Users/t/p/a", ["p/a/A.parquet"]
FINGERPRINT = Fingerprint.of("src", {"x": "1"}, {"I": "v1"}, b"k" * 32)
EXISTING = {"A": TableState(path="A", exists=True, format="parquet", fingerprint="f")}


def _check(text: str, skip_allowed: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = FolderStorage(folder)
        history = RunHistory(storage)
        outputs = [storage.get_abs_path(p) for p in OUTPUTS]
        storage.write_text(history._path(NOTEBOOK, outputs), text)
        last = history.last(NOTEBOOK, outputs)
        assert last is None or isinstance(last, (Fingerprint, UnknownHistory))
        skip, reason = decide(EXISTING, FINGERPRINT, last)
        assert isinstance(reason, str) and (skip_allowed or not skip), (text, reason)
        value = history.exit_value(NOTEBOOK, outputs)
        assert value is None or isinstance(value, str)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_as_a_record_never_crashes_nor_skips(doc):
    _check(json.dumps(doc), skip_allowed=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), JSON)
@example(field="source", value="")  # an empty source is not "none recorded": compared, it differs
def test_a_sound_record_with_one_field_replaced_skips_only_if_still_sound(field, value):
    doc = {
        "notebook": NOTEBOOK,
        "outputs": OUTPUTS,
        "at": 1.0,
        "status": "succeeded",
        "run_id": "r1",
        "exit_value": "done",
        **FINGERPRINT.__dict__,
    }
    doc[field] = value
    # a source not recorded (a run on Databricks: deployed jobs record none) is not compared
    sound = field in ("notebook", "outputs", "run_id", "at", "exit_value", "source") and (
        field in ("notebook", "outputs")
        or (field == "source" and value is None)
        or (field == "run_id" and isinstance(value, str))
        or (field == "exit_value" and (value is None or isinstance(value, str)))
        or (field == "at" and type(value) in (int, float) and math.isfinite(value) and 0 <= value <= 1e11)
    )
    _check(json.dumps(doc), skip_allowed=sound)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_as_a_record_never_crashes_nor_skips(text):
    _check(text, skip_allowed=False)
