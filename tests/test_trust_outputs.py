"""Issue 18, point 1: a notebook succeeds only if this run wrote each declared output. An earlier run's
table never passes as new. Real Sail, real parquet and Delta files."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality

from dtflw.errors import DtflwError, StaleOutputError
from dtflw.events import RunStatus
from dtflw.lineage import LineageGraph
from dtflw.storage.base import FolderStorage
from dtflw.storage.tables import FileInfo, state_from_listing, written_between

# writes `id * factor` for ids 0..9 to its output, in the mode of arg `mode` ("skip": writes nothing)
PRODUCE = """
from dtflw import init_outputs
dbutils.widgets.text("factor", "1")
dbutils.widgets.text("mode", "overwrite")
mode = dbutils.widgets.get("mode")
for name, out in init_outputs(*[w[:-4] for w in dbutils.widgets.getAll() if w.endswith("_out")]).items():
    fmt = "delta" if out.value.endswith(".delta") else "parquet"
    if mode != "skip":
        spark.range(10).selectExpr(f"id * {dbutils.widgets.get('factor')} AS id").write.mode(mode).format(fmt).save(out.value)
"""

PIPELINE = """
from dtflw import init_flow, init_args
args = init_args({"factor": "1", "fmt": "parquet", "mode": "overwrite"})
flow = init_flow()
flow.notebook("a").args({"factor": args["factor"].value, "mode": args["mode"].value}).output("A", format=args["fmt"].value).run()
flow.notebook("b").input("A").output("B").run(is_lazy=True)
"""


@pytest.fixture
def ws(chain_workspace):
    return chain_workspace(PRODUCE, PIPELINE)


def table(ws, name, fmt="parquet"):
    return ws.storage_folder / "p" / name.lower() / f"{name}.{fmt}"


def assert_ids(spark, path, ids, fmt="parquet"):
    expected = spark.createDataFrame([(i,) for i in ids], "id long")
    assert_df_equality(spark.read.format(fmt).load(str(path)), expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_notebook_that_no_longer_writes_its_output_fails_naming_it(ws, decisions, spark, fmt):
    ws.run("p/main.py", {"fmt": fmt})
    decisions.take()
    # the notebook edited so it writes nothing: the table of the first run is still there
    with pytest.raises(DtflwError, match="StaleOutputError") as caught:
        ws.run("p/main.py", {"fmt": fmt, "mode": "skip", "factor": "5"})
    assert isinstance(caught.value.__cause__, StaleOutputError)
    message = str(caught.value)
    assert "Notebook '/Users/tester@example.com/p/a' did not write output 'A'" in message
    assert f"p/a/A.{fmt}'" in message and "earlier run" in message
    runs = decisions.take()
    assert runs["a"][0] == "failed" and "b" not in runs  # its consumer never reads the stale table
    graph = LineageGraph.load(FolderStorage(str(ws.storage_folder)))
    failed = [r for r in graph.runs.values() if r.status == RunStatus.FAILED]
    assert [r.notebook_path for r in failed] == ["/Users/tester@example.com/p/a"]
    assert failed[0].error.startswith("StaleOutputError: Notebook")
    # the next lazy run does not take the old table as up to date either
    ws.write("p/lazy.py", PIPELINE.replace(".run()", ".run(is_lazy=True)", 1))
    ws.run("p/lazy.py", {"fmt": fmt, "factor": "5"})
    assert decisions.take()["a"][0] == "succeeded"
    assert_ids(spark, table(ws, "A", fmt), [i * 5 for i in range(10)], fmt)


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_an_append_and_an_identical_overwrite_are_writes(ws, decisions, spark, fmt):
    ws.run("p/main.py", {"fmt": fmt})
    ws.run("p/main.py", {"fmt": fmt})  # the same rows again: new files, or a new Delta version
    ws.run("p/main.py", {"fmt": fmt, "mode": "append"})
    assert [s for s, _ in decisions.take().values()] == ["succeeded", "succeeded"]
    assert_ids(spark, table(ws, "A", fmt), list(range(10)) * 2, fmt)


def _listing(root: str, *files: tuple[str, int, int]) -> list[FileInfo]:
    return [FileInfo(f"{root}/{name}", name.rsplit("/", 1)[-1], size, ms) for name, size, ms in files]


def test_a_table_of_only_its_success_marker_written_again_is_new():
    root = "/s/t.parquet"
    before = state_from_listing(root, _listing(root, ("_SUCCESS", 0, 1000)))
    again = state_from_listing(root, _listing(root, ("_SUCCESS", 0, 2000)))
    assert before.exists and written_between(before, again)
    assert not written_between(before, state_from_listing(root, _listing(root, ("_SUCCESS", 0, 1000))))


def test_what_counts_as_written():
    root = "/s/t.parquet"
    old = state_from_listing(root, _listing(root, ("part-0.parquet", 10, 1000)))
    assert not written_between(old, old)
    assert written_between(None, old) and written_between(state_from_listing(root, []), old)
    assert written_between(old, state_from_listing(root, _listing(root, ("part-0.parquet", 10, 1001))))
    assert written_between(old, state_from_listing(root, _listing(root, ("part-1.parquet", 10, 1000))))
    assert not written_between(old, state_from_listing(root, []))
    delta = "/s/t.delta"
    v0 = state_from_listing(delta, _listing(delta, ("_delta_log/00000000000000000000.json", 10, 1000)))
    v1 = state_from_listing(
        delta,
        _listing(
            delta,
            ("_delta_log/00000000000000000000.json", 10, 1000),
            ("_delta_log/00000000000000000001.json", 10, 1000),
        ),
    )
    assert written_between(v0, v1) and not written_between(v1, v1)


# a nested orchestration: `mid` declares output A and has its child `a` write it at that very path, lazily
MID = """
from dtflw import init_args, init_flow, init_outputs
args = init_args({"call": "yes"})
outputs = init_outputs("A")
if args["call"].value == "yes":
    init_flow().notebook("a").output("A", file_path=outputs["A"].value).run(is_lazy=True)
"""
NESTED = """
from dtflw import init_flow, init_args
args = init_args({"call": "yes"})
flow = init_flow()
flow.notebook("mid").args({"call": args["call"].value}).output("A").run()
"""


def test_a_nested_flow_whose_lazy_child_finds_the_output_up_to_date_writes_it_for_its_caller(ws, spark):
    ws.write("p/mid.py", MID)
    ws.write("p/nested.py", NESTED)
    ws.run("p/nested.py")
    written = table(ws, "A").parent.parent / "mid" / "A.parquet"
    files = sorted(p.name for p in written.iterdir())
    ws.run("p/nested.py")  # `a` is skipped as up to date: `mid` passes, the table is the same
    assert sorted(p.name for p in written.iterdir()) == files
    assert_ids(spark, written, range(10))
    # `mid` edited so it no longer runs its child: the earlier confirmation does not make the table new
    with pytest.raises(DtflwError, match="StaleOutputError") as caught:
        ws.run("p/nested.py", {"call": "no"})
    assert "Notebook '/Users/tester@example.com/p/mid' did not write output 'A'" in str(caught.value)
    # a confirmation that is not one (hostile or corrupt) is not trusted: the same typed failure
    for confirmation in (ws.storage_folder / "_dtflw" / "state" / "current").iterdir():
        confirmation.write_text('{"output": 1, "at": "now"}')
    with pytest.raises(DtflwError, match="StaleOutputError"):
        ws.run("p/nested.py", {"call": "no"})
