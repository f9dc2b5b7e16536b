"""Issue 10, stale or lost data: a lazy run is right or loudly wrong after crashes, corrupt state and
re-created tables. Real Sail, real parquet and Delta files, real processes killed with SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from chispa import assert_df_equality

from dtflw.errors import DtflwError
from dtflw.incremental import Fingerprint, RunHistory
from dtflw.storage.base import FolderStorage

# A producer that writes `id * factor` for ids 0..9; with DTFLW_TEST_PAUSE set it writes half the
# rows, sleeps (the test kills it there), then appends the rest: a table that looks complete but is not.
PRODUCE = """
import os, time
from dtflw import init_inputs, init_outputs
dbutils.widgets.text("factor", "1")
factor = int(dbutils.widgets.get("factor"))
names = [w[:-3] for w in dbutils.widgets.getAll() if w.endswith("_in")]
base = spark.range(10)
for name, table in init_inputs(*names).items():
    fmt = "delta" if table.value.endswith(".delta") else "parquet"
    base = spark.read.format(fmt).load(table.value).selectExpr("id")
for name, out in init_outputs(*[w[:-4] for w in dbutils.widgets.getAll() if w.endswith("_out")]).items():
    fmt = "delta" if out.value.endswith(".delta") else "parquet"
    rows = base.selectExpr(f"id * {factor} AS id")
    if os.environ.get("DTFLW_TEST_PAUSE") and name == os.environ.get("DTFLW_TEST_PAUSE_TABLE", name):
        rows.where("id % 2 = 0").write.mode("overwrite").format(fmt).save(out.value)
        time.sleep(float(os.environ["DTFLW_TEST_PAUSE"]))
        rows.where("id % 2 = 1").write.mode("append").format(fmt).save(out.value)
    else:
        rows.write.mode("overwrite").format(fmt).save(out.value)
"""

PIPELINE = """
from dtflw import init_flow, init_args
args = init_args({"factor": "1", "fmt": "parquet", "force": ""})
flow = init_flow()
fmt, force = args["fmt"].value, args["force"].value
flow.notebook("a").args({"factor": args["factor"].value}).output("A", format=fmt).run(is_lazy=force != "a")
flow.notebook("b").input("A").output("B").run(is_lazy=force != "b")
flow.notebook("c").input("B").output("C").run(is_lazy=force != "c")
"""


@pytest.fixture
def ws(chain_workspace):
    return chain_workspace(PRODUCE, PIPELINE)


def table(ws, name, fmt="parquet"):
    return ws.storage_folder / "p" / name.lower() / f"{name}.{fmt}"


def assert_ids(spark, path, ids, fmt="parquet"):
    expected = spark.createDataFrame([(i,) for i in ids], "id long")
    assert_df_equality(spark.read.format(fmt).load(str(path)), expected, ignore_row_order=True, ignore_nullable=True)


def cli(ws, *extra, lazy=True):
    command = [
        sys.executable, "-m", "dtflw.cli", "run", str(ws.root / "p/main.py"), "--workspace-root", str(ws.root),
        "--storage", str(ws.storage_folder), "--dbfs-root", str(ws.dbfs_folder), "--user", "tester",
    ]  # fmt: skip
    return command + (["--lazy"] if lazy else []) + list(extra)


def wait_for(predicate, within=60.0):
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# -- 1. kill -9 mid-write ------------------------------------------------------------------------
@pytest.mark.slow
def test_a_step_killed_mid_write_is_run_again_by_the_next_lazy_run(ws, spark):
    first = subprocess.run(cli(ws), capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    # a run forcing b overwrites B: half its rows are written when the process is killed
    env = {**os.environ, "DTFLW_TEST_PAUSE": "60", "DTFLW_TEST_PAUSE_TABLE": "B"}
    process = subprocess.Popen(
        cli(ws, "--arg", "force=b", lazy=False), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    marker = table(ws, "B")
    before = {p.name for p in marker.iterdir()}
    wait_for(lambda: marker.exists() and {p.name for p in marker.iterdir()} - before and not _unfinished(marker))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    rerun = subprocess.run(cli(ws), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "done     /Users/tester/p/b" in rerun.stderr and "did not finish" in rerun.stderr
    assert_ids(spark, table(ws, "B"), range(10))
    assert_ids(spark, table(ws, "C"), range(10))


def _unfinished(folder) -> bool:
    return any("#" in p.name for p in folder.iterdir())


@pytest.mark.slow
def test_files_sail_leaves_when_killed_mid_write_are_not_a_table(tmp_path):
    out = tmp_path / "big.parquet"
    writer = (
        "from dtflw.engines import create_engine\n"
        "with create_engine('sail') as e:\n"
        "    e.session.range(0, 20_000_000, numPartitions=1).selectExpr('id', 'uuid() AS u')"
        f".write.parquet({str(out)!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer])
    wait_for(lambda: out.exists() and _unfinished(out))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    leftovers = sorted(p.name for p in out.iterdir())
    assert leftovers and all("#" in n for n in leftovers), leftovers
    state = FolderStorage(str(tmp_path)).table_state(str(out))
    assert not state.exists and state.file_count == 0


@pytest.mark.slow
@pytest.mark.jvm
def test_files_jvm_spark_leaves_when_killed_mid_write_are_not_a_table(tmp_path):
    out = tmp_path / "big.parquet"
    writer = (
        "from dtflw.engines import create_engine\n"
        "with create_engine('spark') as e:\n"
        "    e.session.range(0, 40_000_000, numPartitions=2).selectExpr('id', 'uuid() AS u')"
        f".write.parquet({str(out)!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer], start_new_session=True)
    wait_for(lambda: out.exists() and any(p.suffix == ".parquet" for p in out.rglob("part-*")), within=120)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its JVM
    process.wait()
    assert (out / "_temporary").is_dir() and not (out / "_SUCCESS").exists()
    state = FolderStorage(str(tmp_path)).table_state(str(out))
    assert not state.exists and state.file_count == 0


def test_temporary_files_of_spark_and_sail_never_make_a_table_complete(tmp_path):
    folder = tmp_path / "t.parquet"
    for name in [
        "_temporary/0/_temporary/attempt_1/part-00000.snappy.parquet",  # JVM Spark's committer
        "_started_123",  # Databricks' DBIO commit protocol
        "part-00000.snappy.parquet.tmp",
        ".part-00000.snappy.parquet.crc",
        "abc_0.zst.parquet#1",  # Sail (object_store) while writing
    ]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"PAR1" + b"x" * 20 + b"PAR1")
    assert not FolderStorage(str(tmp_path)).table_state(str(folder)).exists


# -- 2. corrupt state record ---------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["{not json", "", '{"source": null}'])
def test_an_unreadable_run_record_runs_the_step_and_says_why(ws, decisions, spark, damage):
    ws.run("p/main.py")
    decisions.take()
    for doc in (ws.storage_folder / "_dtflw" / "state").iterdir():
        doc.write_text(damage)
    ws.run("p/main.py", {"factor": "2"})
    runs = decisions.take()
    assert runs["a"][0] == "succeeded" and "run history unreadable" in runs["a"][1]
    assert_ids(spark, table(ws, "C"), [i * 2 for i in range(10)])
    ws.run("p/main.py", {"factor": "2"})
    assert decisions.take() == {n: ("skipped", "up to date") for n in "abc"}


# -- 3. identity of inputs -----------------------------------------------------------------------
def test_a_delta_input_created_again_at_version_0_reruns_its_consumer(ws, decisions, spark):
    ws.run("p/main.py", {"fmt": "delta"})
    decisions.take()
    shutil.rmtree(table(ws, "A", "delta"))
    ws.run("p/main.py", {"fmt": "delta", "factor": "3"})
    runs = decisions.take()
    assert runs["a"] == ("succeeded", "output A missing")
    assert runs["b"][0] == "succeeded" and runs["b"][1].startswith("input A changed v0 of ")
    assert_ids(spark, table(ws, "C"), [i * 3 for i in range(10)])


def test_a_parquet_fingerprint_changes_whenever_a_file_does(ws, spark):
    storage = FolderStorage(str(ws.storage_folder))
    path = ws.storage_folder / "t.parquet"
    spark.range(10).write.parquet(str(path))
    before = storage.table_state(str(path)).fingerprint
    data = next(p for p in path.iterdir() if p.suffix == ".parquet")
    stat = data.stat()
    renamed = data.with_name("other-" + data.name)
    data.rename(renamed)  # same size, same time: another file
    os.utime(renamed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert storage.table_state(str(path)).fingerprint != before


# -- 4. history keys relative to the storage ----------------------------------------------------
def test_a_moved_storage_keeps_its_history(ws, decisions, make_workspace, tmp_path):
    ws.run("p/main.py")
    decisions.take()
    moved = tmp_path / "elsewhere"
    shutil.move(str(ws.storage_folder), str(moved))
    from dtflw.core.options import RunOptions
    from dtflw.local.workspace import LocalSettings, LocalWorkspace

    local = LocalWorkspace(
        str(ws.root),
        ws.local.engine,
        LocalSettings(user="tester@example.com", storage_url="file://" + str(moved), dbfs_folder=str(ws.dbfs_folder)),
        RunOptions(listeners=[decisions]),
    )
    local.run_file(str(ws.root / "p/main.py"), {})
    assert decisions.take() == {n: ("skipped", "up to date") for n in "abc"}


def test_a_root_dir_copied_under_another_name_keeps_its_history(tmp_path):
    before = FolderStorage(str(tmp_path), root_dir="analysis")
    fingerprint = Fingerprint.of("src", {"x": "1"}, {"A": "v1"}, b"key")
    RunHistory(before).record("/Users/t/p/a", [before.get_abs_path("analysis/p/a/A.parquet")], fingerprint, "r1")
    shutil.copytree(tmp_path / "analysis", tmp_path / "copy" / "analysis2")
    after = FolderStorage(str(tmp_path / "copy"), root_dir="analysis2")
    assert RunHistory(after).last("/Users/t/p/a", [after.get_abs_path("analysis2/p/a/A.parquet")]) == fingerprint


def test_a_record_keyed_by_absolute_paths_is_still_read(tmp_path):
    storage = FolderStorage(str(tmp_path))
    outputs = [storage.get_abs_path("p/a/A.parquet")]
    fingerprint = Fingerprint.of("src", {"x": "1"}, {}, b"key")
    legacy = RunHistory(storage)._path("/Users/t/p/a", outputs, relative=False)
    storage.write_text(legacy, json.dumps({"run_id": "r1", "status": "succeeded", **fingerprint.__dict__}))
    assert RunHistory(storage).last("/Users/t/p/a", outputs) == fingerprint
    # without a status (as dtflw wrote them before records were marked started), it is not trusted: the step runs
    storage.write_text(legacy, json.dumps({"run_id": "r1", **fingerprint.__dict__}))
    assert "status is missing" in RunHistory(storage).last("/Users/t/p/a", outputs).reason


# -- 5. truncated files --------------------------------------------------------------------------
def test_a_truncated_parquet_output_makes_its_producer_run_again(ws, decisions, spark):
    ws.run("p/main.py")
    decisions.take()
    data = next(p for p in table(ws, "A").iterdir() if p.suffix == ".parquet")
    data.write_bytes(data.read_bytes()[:-10])  # the footer cut off, as by a crash mid-write
    ws.run("p/main.py")
    runs = decisions.take()
    assert runs["a"][0] == "succeeded"
    assert f"output A incomplete: data file {data.name} has no parquet footer" in runs["a"][1]
    assert_ids(spark, table(ws, "C"), range(10))


def test_a_half_written_delta_commit_makes_its_table_incomplete_and_named(ws, decisions):
    ws.run("p/main.py", {"fmt": "delta"})
    decisions.take()
    log = table(ws, "A", "delta") / "_delta_log"
    (log / "00000000000000000001.json").write_text('{"commitInfo":{"operation":"WRI')
    storage = FolderStorage(str(ws.storage_folder))
    state = storage.table_state(str(table(ws, "A", "delta")))
    assert not state.exists and "00000000000000000001.json is not complete JSON" in state.problem
    ws.write(
        "p/only_b.py",
        "from dtflw import init_flow\nflow = init_flow()\n"
        'flow.notebook("b").input("A", file_path="p/a/A.delta").output("B").run()',
    )
    with pytest.raises(DtflwError, match=r"Input 'A' of notebook 'b' at '.*A\.delta' is incomplete"):
        ws.run("p/only_b.py")
    with pytest.raises(
        DtflwError, match=r"IncompleteTableError: Output 'A' of notebook '.*p/a' at '.*A\.delta'.*Remove"
    ):
        ws.run("p/main.py", {"fmt": "delta"})
    assert decisions.take()["a"][1].startswith("output A incomplete: its newest Delta commit")
    (log / "00000000000000000001.json").unlink()  # as the error says
    ws.run("p/main.py", {"fmt": "delta"})
    runs = decisions.take()
    assert runs["a"][0] == "succeeded" and runs["a"][1].endswith("did not finish")  # the failed attempt


# -- 6. overlapping outputs ----------------------------------------------------------------------
def test_two_outputs_of_a_step_where_one_lies_inside_the_other_are_refused(ws):
    ws.write(
        "p/main.py",
        "from dtflw import init_flow\nflow = init_flow()\n"
        'flow.notebook("a").output("Outer", file_path="p/t.parquet").output("Inner", file_path="p/t.parquet/x.parquet")',
    )
    with pytest.raises(DtflwError, match="'Inner'.*'Outer'.*notebook 'a'.*inside") as caught:
        ws.run("p/main.py")
    assert "OverlappingOutputsError" in str(caught.value)


def test_outputs_of_two_dag_steps_where_one_lies_inside_the_other_are_refused(ws):
    ws.write(
        "p/main.py",
        "from dtflw import init_flow\nflow = init_flow()\n"
        "with flow.dag() as dag:\n"
        '    flow.notebook("a").output("Outer", file_path="p/t").run()\n'
        '    flow.notebook("b").output("Inner", file_path="p/t/x.parquet").run()\n',
    )
    with pytest.raises(DtflwError, match="'Inner'.*'b'.*'Outer'.*'a'.*inside") as caught:
        ws.run("p/main.py")
    assert "OverlappingOutputsError" in str(caught.value)


def test_a_notebook_that_leaves_a_truncated_output_fails_naming_the_table(ws):
    ws.write(
        "p/a.py",
        PRODUCE,
        "import pathlib\n"
        "for f in pathlib.Path(dbutils.widgets.get('A_out')).glob('*.parquet'):\n"
        "    f.write_bytes(f.read_bytes()[:-8])",
    )
    with pytest.raises(
        DtflwError, match=r"left output 'A' at '.*A\.parquet' incomplete: data file .* no parquet footer"
    ):
        ws.run("p/main.py")
