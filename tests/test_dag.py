"""DAG execution: inferred dependencies, parallel workers, failures, retries, timeouts, selection."""

from __future__ import annotations

import os

import pytest
from testkit import RecordingRunner

from dtflw import init_flow
from dtflw.errors import (
    ArgumentError,
    DagCycleError,
    DagFailedError,
    DuplicateProducerError,
    NotebookFailedError,
    NotebookTimeoutError,
    SelectionError,
    SelfDependencyError,
    UnresolvedInputError,
)
from dtflw.events import FlowListener, RunStatus
from dtflw.lineage import LineageGraph
from dtflw.storage.base import FolderStorage

WRITE_OUTPUTS = """
from dtflw import init_outputs
import time
dbutils.widgets.text("sleep", "0")
time.sleep(float(dbutils.widgets.get("sleep")))
for name, out in init_outputs(*[w[:-4] for w in dbutils.widgets.getAll() if w.endswith("_out")]).items():
    spark.range(2).write.mode("overwrite").parquet(out.value)
"""


class Events(FlowListener):
    def __init__(self):
        self.ended = []
        self.started = []

    def on_notebook_start(self, flow, run):
        self.started.append(run)

    def on_notebook_end(self, flow, run):
        self.ended.append(run)

    def by_name(self):
        return {r.notebook_path.rsplit("/", 1)[-1]: r for r in self.ended}

    def statuses(self):
        return {name: run.status.value for name, run in self.by_name().items()}


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def ws(make_workspace, events):
    workspace = make_workspace(listeners=[events])
    for name in ("a", "b", "c", "d", "e"):
        workspace.write(f"p/{name}.py", WRITE_OUTPUTS)
    return workspace


def main(ws, body: str):
    ws.write("p/main.py", "from dtflw import init_flow\nflow = init_flow()\n" + body)
    return ws.run("p/main.py")


def test_fan_out_runs_in_parallel_and_fan_in_waits(ws, events):
    main(
        ws,
        """
with flow.dag(workers=3):
    flow.notebook("a").output("A").run()
    for nb in ("b", "c", "d"):
        flow.notebook(nb).args({"sleep": "0.5"}).input("A").output(nb.upper()).run()
    flow.notebook("e").input("B").input("C").input("D").output("E").run()
""",
    )
    runs = events.by_name()
    assert all(r.status == RunStatus.SUCCEEDED for r in runs.values())
    fan_out = [runs[n] for n in "bcd"]
    assert max(r.started for r in fan_out) < min(r.ended for r in fan_out), "b, c and d overlapped"
    assert min(r.started for r in fan_out) >= runs["a"].ended
    assert runs["e"].started >= max(r.ended for r in fan_out)


def test_explicit_ordering_between_notebooks_sharing_no_table(ws, events):
    main(
        ws,
        """
with flow.dag(workers=2):
    a = flow.notebook("a").args({"sleep": "0.3"}).output("A")
    b = flow.notebook("b").output("B")
    a >> b
    b.run()
    a.run()
""",
    )
    runs = events.by_name()
    assert runs["b"].started >= runs["a"].ended


def test_a_failure_stops_new_work_and_reports_every_failure(ws, events):
    ws.write("p/bad.py", "raise RuntimeError('broken notebook')")
    with pytest.raises(NotebookFailedError) as info:
        main(
            ws,
            """
with flow.dag(workers=2):
    flow.notebook("a").output("A").run()
    flow.notebook("bad").input("A").output("BAD").run()
    flow.notebook("b").args({"sleep": "0.5"}).input("A").output("B").run()
    flow.notebook("c").input("BAD").output("C").run()
""",
        )
    error = info.value.__cause__
    assert isinstance(error, DagFailedError)
    assert set(error.failures) == {"bad"} and error.not_run == ["c"]
    assert str(error).startswith("1 notebook(s) failed; not run: c:\n  bad: NotebookFailedError: ")
    assert "broken notebook" in str(error)
    runs = events.by_name()
    assert runs["bad"].status == RunStatus.FAILED and "broken notebook" in runs["bad"].error
    assert runs["b"].status == RunStatus.SUCCEEDED, "the running branch finished"
    assert "c" not in runs
    assert (ws.storage_folder / "p/a/A.parquet").is_dir(), "upstream outputs stay intact"
    graph = LineageGraph.load(FolderStorage(str(ws.storage_folder)))
    assert {r.rel_path: r.status for r in graph.runs.values()} == {
        "a": RunStatus.SUCCEEDED,
        "bad": RunStatus.FAILED,
        "b": RunStatus.SUCCEEDED,
    }, "lineage says which failed; c never ran"


def test_a_flaky_notebook_is_retried_and_both_attempts_recorded(ws, events):
    ws.write(
        "p/flaky.py",
        """
import os
marker = "/tmp-dtflw-flaky"
dbutils.fs.mkdirs("dbfs:/state")
if not [f for f in dbutils.fs.ls("dbfs:/state") if f.name == "tried"]:
    dbutils.fs.put("dbfs:/state/tried", "1")
    raise RuntimeError("transient failure")
""",
        WRITE_OUTPUTS,
    )
    main(ws, 'flow.notebook("flaky").output("F").retries(2, backoff=0.01).run()')
    attempts = [(r.attempt, r.status) for r in events.ended]
    assert attempts == [(1, RunStatus.FAILED), (2, RunStatus.SUCCEEDED)]


def test_a_hanging_notebook_times_out_and_the_others_are_unaffected(ws, events):
    ws.write("p/hang.py", "import time\ntime.sleep(60)")
    with pytest.raises(NotebookFailedError) as info:
        main(
            ws,
            """
with flow.dag(workers=2):
    flow.notebook("hang").timeout(1).output("H").run()
    flow.notebook("a").args({"sleep": "0.2"}).output("A").run()
""",
        )
    error = info.value.__cause__
    assert isinstance(error.failures["hang"], NotebookTimeoutError)
    runs = events.by_name()
    assert runs["a"].status == RunStatus.SUCCEEDED
    assert runs["hang"].status == RunStatus.FAILED and "timed out after 1 s" in runs["hang"].error


def test_selection_runs_a_table_and_its_upstream_or_excludes_tags(ws, events):
    body = """
with flow.dag(select={select!r}, exclude={exclude!r}):
    flow.notebook("a").output("A").tags("raw").run()
    flow.notebook("b").input("A").output("B").run()
    flow.notebook("c").input("A").output("C").tags("slow").run()
    flow.notebook("d").input("B").output("D").run()
"""
    main(ws, body.format(select="+B", exclude=None))
    assert events.statuses() == {"a": "succeeded", "b": "succeeded", "c": "skipped", "d": "skipped"}
    assert events.by_name()["d"].reason == "not selected"
    events.ended.clear()
    main(ws, body.format(select="A+", exclude="tag:slow"))
    assert events.statuses() == {"a": "succeeded", "b": "succeeded", "c": "skipped", "d": "succeeded"}


def write_outputs(path, arguments):
    """A RecordingRunner action: the notebook writes (empty) every output it is given."""
    for widget, value in arguments.items():
        if widget.endswith("_out"):
            os.makedirs(value, exist_ok=True)
            open(os.path.join(value, "_SUCCESS"), "w").close()


@pytest.fixture
def recording_flow(tmp_path, runtime_at):
    with runtime_at("/Users/u@x/p/main", runner=RecordingRunner()) as runtime:
        yield init_flow(FolderStorage(str(tmp_path / "store"))), runtime.runner


def test_graph_errors_are_reported_before_anything_runs(recording_flow):
    flow, runner = recording_flow
    with pytest.raises(DagCycleError, match="cycle: .*a.*b|cycle: .*b.*a"), flow.dag():
        flow.notebook("a").input("T2").output("T1").run()
        flow.notebook("b").input("T1").output("T2").run()
    with pytest.raises(DuplicateProducerError, match="Table 'T' is produced by both 'a' .* and 'b'"), flow.dag():
        flow.notebook("a").output("T").run()
        flow.notebook("b").output("T").run()
    with pytest.raises(SelfDependencyError, match="Notebook 'a' reads table 'Y'"), flow.dag():
        flow.notebook("a").input("Z", source_table="Y").output("X", alias="Y").run()
    with pytest.raises(UnresolvedInputError, match="Input 'Nobody' of notebook 'a'"), flow.dag():
        flow.notebook("a").input("Nobody").output("X").run()
    with pytest.raises(SelectionError, match="'zzz' in 'zzz' matches no notebook or table"), flow.dag(select="zzz"):
        flow.notebook("a").output("X").run()
    assert runner.calls == []


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", 1000])
def test_bad_worker_counts(recording_flow, workers):
    flow, _ = recording_flow
    with pytest.raises(ArgumentError, match="workers must be a whole number"):
        flow.dag(workers=workers)


@pytest.mark.parametrize("kwargs", [{"n": -1}, {"n": 1000}, {"n": 1.5}, {"n": 1, "backoff": -1}, {"n": 1, "on": "x"}])
def test_bad_retries(recording_flow, kwargs):
    flow, _ = recording_flow
    with pytest.raises(ArgumentError, match="notebook 'a'"):
        flow.notebook("a").retries(**kwargs)


def test_bad_tags_and_ordering(recording_flow):
    flow, _ = recording_flow
    nb = flow.notebook("a")
    with pytest.raises(ArgumentError, match="Tags of notebook 'a'"):
        nb.tags("")
    with pytest.raises(ArgumentError, match="cannot run after itself"):
        nb >> nb
    with pytest.raises(ArgumentError, match="already being declared"), flow.dag(), flow.dag():
        pass


def test_dag_results_and_earlier_eager_tables(recording_flow):
    flow, runner = recording_flow
    runner.result = "exit"
    runner.action = write_outputs
    flow.notebook("eager").output("E").run()
    dag = flow.dag(workers=1)
    with dag:
        step = flow.notebook("uses_eager").input("E").output("U")
        assert step.run() is None, "declared, not run"
    assert step.result == "exit"
    assert runner.calls[1][2]["E_in"].endswith("p/eager/E.parquet")
    assert dag.run() == {"uses_eager": "exit"}


def _level_names(dag) -> list[list[str]]:
    return [[step.name for step in level] for level in dag.plan().levels()]


def test_steps_may_be_declared_before_their_producers(recording_flow):
    flow, runner = recording_flow
    runner.action = write_outputs
    in_order, reversed_order = flow.dag(), flow.dag()
    declared = [
        ("a", [], ["A"]),
        ("b", ["A"], ["B"]),
        ("c", ["A"], ["C"]),
        ("d", ["B", "C"], ["D"]),
    ]
    for dag, steps in ((in_order, declared), (reversed_order, declared[::-1])):
        for name, inputs, outputs in steps:
            nb = flow.notebook(name)
            for table in inputs:
                nb.input(table)
            for table in outputs:
                nb.output(table)
            dag.add(nb)
    assert _level_names(in_order) == [["a"], ["b", "c"], ["d"]]
    assert _level_names(reversed_order) == [["a"], ["c", "b"], ["d"]]
    assert reversed_order.steps[0].notebook.get_inputs()["B"].abs_file_path.endswith("p/b/B.parquet")
    assert reversed_order.run() == {"a": "ok", "b": "ok", "c": "ok", "d": "ok"}
    ran = [call[0].rsplit("/", 1)[-1] for call in runner.calls]
    assert ran[0] == "a" and sorted(ran[1:3]) == ["b", "c"] and ran[3] == "d"


def test_ordering_only_cycles_are_reported(recording_flow):
    flow, runner = recording_flow
    dag = flow.dag()
    a, b = flow.notebook("a").output("A"), flow.notebook("b").output("B")
    a >> b >> a
    dag.add(a)
    dag.add(b)
    with pytest.raises(DagCycleError, match="cycle: .*a.*b|cycle: .*b.*a"):
        dag.run()
    assert runner.calls == []


def test_a_declared_step_is_final_and_a_rejected_one_leaves_the_dag_intact(recording_flow):
    flow, runner = recording_flow
    runner.action = write_outputs
    dag = flow.dag()
    producer = flow.notebook("a").output("T")
    dag.add(producer)
    with pytest.raises(ArgumentError, match="output 'U' to notebook 'a': it is already declared as step 1 of a DAG"):
        producer.output("U")
    with pytest.raises(ArgumentError, match="input 'X' to notebook 'a'"):
        producer.input("X")
    with pytest.raises(
        DuplicateProducerError, match="Table 'T' is produced by both 'a' \\(step 1\\) and 'b' \\(step 2\\)"
    ):
        dag.add(flow.notebook("b").input("S", file_path="raw/s.csv").output("T"))
    with pytest.raises(SelfDependencyError, match="Notebook 'c' reads table 'C'"):
        dag.add(flow.notebook("c").input("C").output("C"))
    with pytest.raises(DuplicateProducerError, match="Table '.*/p/a/T.parquet' is produced by both 'a'"):
        dag.add(flow.notebook("d").output("D", file_path="p/a/T.parquet"))
    dag.add(flow.notebook("b").input("T").output("B"))
    dag.add(flow.notebook("c").input("Raw", file_path="p/b/B.parquet").output("C"))
    assert _level_names(dag) == [["a"], ["b"], ["c"]]
    assert dag.run() == {"a": "ok", "b": "ok", "c": "ok"}
    assert [call[0].rsplit("/", 1)[-1] for call in runner.calls] == ["a", "b", "c"]
