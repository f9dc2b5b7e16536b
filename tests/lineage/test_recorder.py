"""The recorder writes one document per flow run; reading the storage back gives the same lineage."""

from __future__ import annotations

import json
import logging
import os
import pathlib
import subprocess
import sys
import textwrap
import threading

from dtflw.events import FlowRun, NotebookRun, RunStatus, TableUse, new_run_id
from dtflw.lineage import LineageGraph, LineageRecorder
from dtflw.lineage.document import parse_document

HERE = os.path.dirname(__file__)


def retail_flow(simulate, *listeners):
    """bronze (parquet) → silver (Delta, aliased) → two gold tables; returns the simulator."""
    flow = simulate(*listeners)
    flow.run("bronze/ingest_orders", outputs={"Orders": "parquet", "OrderItems": "parquet"}, rows=5)
    flow.run("bronze/ingest_customers", outputs={"Customers": "parquet"}, rows=4)
    flow.run(
        "silver/build_sales",
        inputs=["Orders", "OrderItems", "Customers"],
        outputs={"SalesOrderItems": "delta"},
        alias="SalesLines",
        args={"year": "2024"},
        rows=9,
        tags=("silver",),
    )
    flow.run("gold/revenue", inputs=["SalesLines"], outputs={"Revenue": "parquet"}, rows=2, exit_value="ok")
    flow.run("gold/kpi", inputs=["SalesLines", "Revenue"], outputs={"Kpi": "delta"}, rows=6, tags=("gold",))
    flow.end()
    return flow


def test_document_round_trip(storage, simulate):
    recorder = LineageRecorder(storage)
    flow = retail_flow(simulate, recorder)
    assert recorder.flush()

    path = os.path.join(storage.folder, "analysis", "_dtflw", "runs", f"{flow.flow.run_id}.json")
    assert recorder.document_path(flow.flow.run_id) == path
    assert os.listdir(os.path.dirname(path)) == [f"{flow.flow.run_id}.json"]
    graph = LineageGraph.load(storage)
    assert graph.problems == []
    assert list(graph.flows) == [flow.flow.run_id]
    assert graph.flows[flow.flow.run_id].status == RunStatus.SUCCEEDED
    assert [r.run_id for r in graph.runs.values()] == [r.run_id for r in flow.runs]
    for expected in flow.runs:
        loaded = graph.runs[expected.run_id]
        assert loaded.notebook_path == expected.notebook_path
        assert loaded.args == expected.args
        assert loaded.status == expected.status
        assert loaded.started == expected.started and loaded.ended == expected.ended
        assert loaded.tags == expected.tags
        assert [(u.name, u.path, u.state) for u in loaded.outputs] == [
            (u.name, u.path, u.state) for u in expected.outputs
        ]
    assert set(graph.notebooks) == {r.notebook_path for r in flow.runs}
    assert graph.notebooks[flow.runs[2].notebook_path].tags == ["silver"]
    assert graph.tables[flow.tables["SalesLines"]].names == ["SalesOrderItems", "SalesLines"]  # as made, as read
    assert graph.tables[flow.tables["SalesLines"]].aliases == ["SalesLines"]


def test_every_declared_table_has_one_producer_and_consumed_versions_match(storage, simulate):
    recorder = LineageRecorder(storage)
    flow = retail_flow(simulate, recorder)
    recorder.flush()
    graph = LineageGraph.load(storage)

    declared = {u.path for r in flow.runs for u in r.outputs}
    assert declared == set(flow.tables.values())
    for path in declared:
        producers = graph.producers(path)
        assert len(producers) == 1, path
        assert graph.latest_producer(path) is producers[0]
    produced = {e.table: e.version for e in graph.edges if e.kind == "produced"}
    consumed = [e for e in graph.edges if e.kind == "consumed"]
    assert len(consumed) == 6
    for edge in consumed:
        assert edge.version == produced[edge.table], edge.table
        assert edge.version is not None and edge.version != "missing"
    assert produced[flow.tables["SalesLines"]] == "v0"


def test_tables_are_described_from_footers_and_delta_log(storage, simulate):
    recorder = LineageRecorder(storage)
    flow = simulate(recorder)
    flow.run("a", outputs={"P": "parquet", "D": "delta"}, rows=5)
    flow.run("a", outputs={"P": "parquet", "D": "delta"}, rows=8)  # Delta overwrite: v1 has no metaData
    recorder.flush()
    graph = LineageGraph.load(storage)

    history = graph.history(flow.tables["D"])
    assert [(e.version, e.use.row_count) for e in history] == [("v0", 5), ("v1", 8)]
    assert [e.use.schema for e in history] == [[("id", "bigint"), ("name", "string")]] * 2
    parquet = graph.latest_seen(flow.tables["P"])
    assert (parquet.use.row_count, parquet.use.schema) == (8, [("id", "bigint"), ("name", "string")])


def test_describing_can_be_turned_off(storage, simulate):
    recorder = LineageRecorder(storage, describe_tables=False)
    flow = simulate(recorder)
    flow.run("a", outputs={"P": "parquet"})
    recorder.flush()
    use = LineageGraph.load(storage).latest_seen(flow.tables["P"]).use
    assert (use.schema, use.row_count) == (None, None)


def test_failed_run_is_recorded_with_its_error_and_downstream_is_absent(storage, simulate):
    recorder = LineageRecorder(storage)
    flow = simulate(recorder)
    flow.run("bronze/ingest", outputs={"Orders": "parquet"})
    failed = flow.run("silver/build", inputs=["Orders"], outputs={"Sales": "delta"}, fail="ValueError: no year 1900")
    flow.end(RunStatus.FAILED)  # the flow raised: gold/report never started
    recorder.flush()
    graph = LineageGraph.load(storage)

    run = graph.runs[failed.run_id]
    assert run.status == RunStatus.FAILED
    assert run.error == "ValueError: no year 1900"
    assert graph.producers("Sales") == []
    assert graph.latest_seen(graph.find_tables("Sales")[0].path).version == "missing"
    assert graph.runs_of("gold/report") == []
    assert [r.rel_path for r in graph.runs.values()] == ["bronze/ingest", "silver/build"]
    assert graph.flows[flow.flow.run_id].status == RunStatus.FAILED


def test_skipped_runs_are_recorded_with_their_reason(storage, simulate):
    recorder = LineageRecorder(storage)
    first = simulate(recorder)
    first.run("bronze/ingest", outputs={"Orders": "parquet"})
    second = simulate(recorder)
    skipped = second.run("bronze/ingest", outputs={"Orders": "parquet"}, skip="up to date: every output exists")
    recorder.flush()
    graph = LineageGraph.load(storage)

    run = graph.runs[skipped.run_id]
    assert (run.status, run.reason) == (RunStatus.SKIPPED, "up to date: every output exists")
    assert [r.status for r in graph.runs_of("bronze/ingest")] == [RunStatus.SUCCEEDED, RunStatus.SKIPPED]
    assert graph.latest_producer("Orders").run_id == first.runs[0].run_id


def test_a_running_notebook_is_on_storage_before_it_ends(storage):
    recorder = LineageRecorder(storage)
    flow = FlowRun(new_run_id(), "/Users/u/main", storage.url, storage.root_dir)
    run = NotebookRun(new_run_id(), flow.run_id, "/Users/u/long", "long", {}, [], [])
    recorder.on_flow_start(flow)
    recorder.on_notebook_start(flow, run)
    recorder.flush()

    loaded = LineageGraph.load(storage).runs[run.run_id]
    assert loaded.status == RunStatus.RUNNING and loaded.ended is None


def test_each_event_rewrites_the_document(storage, simulate):
    recorder = LineageRecorder(storage)
    flow = simulate(recorder)
    path = recorder.document_path(flow.flow.run_id)
    seen = []
    for i in range(3):
        flow.run(f"nb{i}", outputs={f"T{i}": "parquet"})
        recorder.flush()
        seen.append(len(parse_document(pathlib.Path(path).read_text())[1]))
    assert seen == [1, 2, 3]


def test_graph_in_memory_equals_the_one_on_storage(storage, simulate):
    recorder = LineageRecorder(storage)
    retail_flow(simulate, recorder)
    memory, loaded = recorder.graph(), LineageGraph.load(storage)
    assert list(memory.runs) == list(loaded.runs)
    assert [(e.kind, e.table, e.version, e.use.row_count) for e in memory.edges] == [
        (e.kind, e.table, e.version, e.use.row_count) for e in loaded.edges
    ]


class BrokenStorage:
    """A storage whose writes fail, as an unreachable Azure account would."""

    def __init__(self, storage):
        self._storage = storage
        self.fs = storage.fs
        self.root_dir = storage.root_dir
        self.writes = 0

    def write_text(self, path, text):
        self.writes += 1
        raise OSError("storage account unreachable")

    def __getattr__(self, name):
        return getattr(self._storage, name)


def test_recording_never_fails_the_pipeline(storage, simulate, caplog):
    broken = BrokenStorage(storage)
    recorder = LineageRecorder(broken)
    with caplog.at_level(logging.DEBUG, logger="dtflw"):
        flow = retail_flow(simulate, recorder)
        assert recorder.flush()
        recorder.on_notebook_end(flow.flow, object())  # a malformed event is logged, not raised
    assert broken.writes >= 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len([r for r in warnings if "could not write" in r.getMessage()]) == 1  # once, then quietly
    assert "storage account unreachable" in warnings[0].getMessage()
    assert any("could not record" in r.getMessage() for r in warnings)
    assert len(recorder.graph().runs) == 5  # kept in memory all the same


def test_secrets_never_reach_a_written_file(storage, simulate):
    secret = "tok-9f8e7d6c5b4a"
    secrets = {"an-unrelated-secret"}
    recorder = LineageRecorder(storage, secrets=secrets)
    flow = simulate(recorder)
    flow.run("bronze/ingest", outputs={"Orders": "parquet"}, args={"token": secret, "year": "2024"})
    recorder.flush()
    secrets.add(secret)  # revealed later (dbutils.secrets.get): what was written is rewritten
    flow.run(
        "silver/build",
        inputs=["Orders"],
        outputs={"Sales": "parquet"},
        args={"url": f"https://x/?sig={secret}"},
        exit_value=f"used {secret}",
    )
    flow.run("gold/report", inputs=["Sales"], fail=f"HTTPError 403 for token {secret}")
    flow.end(RunStatus.FAILED)
    recorder.flush()

    written = [os.path.join(d, f) for d, _, files in os.walk(storage.folder) for f in files]
    assert any(p.endswith(".json") for p in written)
    for path in written:
        with open(path, "rb") as f:
            assert secret.encode() not in f.read(), path
    graph = LineageGraph.load(storage)
    assert graph.runs[flow.runs[0].run_id].args == {"token": "[REDACTED]", "year": "2024"}
    assert graph.runs[flow.runs[1].run_id].exit_value == "used [REDACTED]"
    assert secret not in repr(recorder.graph().runs)


def test_concurrent_recorders_in_threads_never_share_or_corrupt_a_document(storage, simulate):
    recorders = [LineageRecorder(storage) for _ in range(4)]
    flows = {}

    def work(i):
        flow = simulate(recorders[i], notebook_path=f"/Users/u/flow{i}")
        for j in range(10):
            flow.run(f"f{i}/nb{j}", outputs={f"T{j}": "parquet"}, rows=1)
        flow.end()
        flows[i] = flow

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.flush() for r in recorders)
    graph = LineageGraph.load(storage)
    assert graph.problems == []
    assert set(graph.flows) == {f.flow.run_id for f in flows.values()}
    assert len(graph.runs) == 40


def test_concurrent_recorders_in_processes(storage):
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {HERE!r})
        from conftest import FlowSimulator
        from dtflw.storage.base import FolderStorage
        from dtflw.lineage import LineageRecorder
        storage = FolderStorage({storage.folder!r}, root_dir="analysis")
        recorder = LineageRecorder(storage)
        flow = FlowSimulator(storage, recorder, notebook_path="/Users/u/" + sys.argv[1])
        for j in range(15):
            flow.run(sys.argv[1] + "/nb" + str(j), outputs={{"T" + str(j): "parquet"}}, rows=1)
        flow.end()
        print(flow.flow.run_id)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, f"p{i}"], stdout=subprocess.PIPE, text=True) for i in range(3)
    ]
    ids = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    graph = LineageGraph.load(storage)
    assert graph.problems == []
    assert set(graph.flows) == ids
    assert len(graph.runs) == 45


def test_corrupt_and_foreign_files_are_reported_and_skipped(storage, simulate, caplog):
    recorder = LineageRecorder(storage)
    flow = retail_flow(simulate, recorder)
    recorder.flush()
    folder = os.path.dirname(recorder.document_path(flow.flow.run_id))
    bad = {
        "truncated.json": '{"format": "dtflw-lineage", "version": 1, "flow_run": {"run_',
        "foreign.json": json.dumps({"hello": "world"}),
        "newer.json": json.dumps({"format": "dtflw-lineage", "version": 99}),
        "wrong-shape.json": json.dumps({"format": "dtflw-lineage", "version": 1, "flow_run": [], "notebook_runs": 3}),
        "notes.txt": "not lineage",
    }
    for name, text in bad.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    with open(os.path.join(folder, "binary.json"), "wb") as f:
        f.write(b"\xff\xfe\x00garbage")
    os.mkdir(os.path.join(folder, "subfolder"))
    with open(os.path.join(folder, ".tmp-123.part"), "w") as f:
        f.write("{")  # a write in progress: not a problem

    with caplog.at_level(logging.WARNING, logger="dtflw"):
        graph = LineageGraph.load(storage)
    assert len(graph.runs) == 5
    assert len(graph.problems) == 7
    for name in [*bad, "binary.json", "subfolder"]:
        assert any(name in p for p in graph.problems), name
    assert any("newer than this dtflw reads" in p for p in graph.problems)
    assert any("binary.json: could not be read (UnicodeDecodeError" in p for p in graph.problems)
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 7


def test_an_empty_storage_gives_an_empty_graph(storage):
    graph = LineageGraph.load(storage)
    assert (graph.runs, graph.tables, graph.problems) == ({}, {}, [])


def test_uses_without_a_path_are_left_out(storage):
    recorder = LineageRecorder(storage)
    flow = FlowRun(new_run_id(), "/Users/u/main", storage.url, storage.root_dir)
    run = NotebookRun(new_run_id(), flow.run_id, "/Users/u/a", "a", {}, [TableUse("Optional", "")], [])
    run.status, run.ended = RunStatus.SUCCEEDED, run.started + 1
    recorder.on_notebook_end(flow, run)
    assert recorder.graph().edges == []
