"""Fixtures for lineage tests: a storage in tmp, and a flow simulator that writes real tables and
reports runs to listeners exactly as dtflw's notebook steps do (states taken before and after)."""

from __future__ import annotations

import time

import pytest

from dtflw.events import FlowRun, NotebookRun, RunStatus, TableUse, new_run_id
from dtflw.storage.base import FolderStorage


@pytest.fixture
def storage(tmp_path):
    return FolderStorage(str(tmp_path / "storage"), root_dir="analysis")


class FlowSimulator:
    """One flow run on `storage`: `run()` writes a notebook's outputs and emits its events."""

    def __init__(self, storage, *listeners, notebook_path="/Users/tester@example.com/project/main", parent_run_id=None):
        self.storage = storage
        self.listeners = listeners
        self.flow = FlowRun(
            run_id=new_run_id(),
            notebook_path=notebook_path,
            storage_url=storage.url,
            root_dir=storage.root_dir,
            parent_run_id=parent_run_id,
        )
        self.tables: dict[str, str] = {}  # published name -> path
        self.runs: list[NotebookRun] = []
        self._emit("on_flow_start", self.flow)

    def path_of(self, rel_path: str, table: str, fmt: str) -> str:
        return self.storage.get_abs_path(self.storage.get_path_in_root_dir(f"project/{rel_path}/{table}.{fmt}"))

    def run(
        self,
        rel_path: str,
        inputs=(),
        outputs=None,
        args=None,
        fail: str | None = None,
        skip: str | None = None,
        exit_value=None,
        tags=(),
        rows: int = 3,
        alias=None,
    ) -> NotebookRun:
        """Run a notebook: `inputs` are published names or paths; `outputs` maps name -> format."""
        outputs = outputs or {}
        in_paths = {name: self.tables.get(name, name) for name in inputs}
        out_paths = {name: self.path_of(rel_path, name, fmt) for name, fmt in outputs.items()}
        record = NotebookRun(
            run_id=new_run_id(),
            flow_run_id=self.flow.run_id,
            notebook_path=f"/Users/tester@example.com/project/{rel_path}",
            rel_path=rel_path,
            args=dict(args or {}),
            inputs=[TableUse(n, p, state=self.storage.table_state(p)) for n, p in in_paths.items()],
            outputs=[],
            tags=tuple(tags),
        )
        for use in record.inputs:
            use.format = use.state.format
        if skip:
            record.status, record.reason = RunStatus.SKIPPED, skip
        else:
            self._emit("on_notebook_start", self.flow, record)
            time.sleep(0.002)
            if fail:
                record.status, record.error = RunStatus.FAILED, fail
            else:
                for name, fmt in outputs.items():
                    write_table(out_paths[name], fmt, rows)
                record.status, record.exit_value = RunStatus.SUCCEEDED, exit_value
        record.outputs = [
            TableUse(n, out_paths[n], outputs[n], alias if alias else n, self.storage.table_state(out_paths[n]))
            for n in outputs
        ]
        record.ended = time.time()
        if record.status != RunStatus.FAILED:
            for use in record.outputs:
                self.tables[use.alias] = use.path
        self.runs.append(record)
        self._emit("on_notebook_end", self.flow, record)
        return record

    def end(self, status=RunStatus.SUCCEEDED) -> FlowRun:
        self.flow.status, self.flow.ended = status, time.time()
        self._emit("on_flow_end", self.flow)
        return self.flow

    def _emit(self, method, *args):
        for listener in self.listeners:
            getattr(listener, method)(*args)


def write_table(path: str, fmt: str, rows: int) -> None:
    """A real parquet folder (pyarrow) or Delta table (delta-rs) of `rows` rows at a local path."""
    import os

    import pyarrow as pa

    table = pa.table({"id": pa.array(range(rows), pa.int64()), "name": pa.array([f"n{i}" for i in range(rows)])})
    if fmt == "delta":
        from deltalake import write_deltalake

        write_deltalake(path, table, mode="overwrite")
    else:
        import pyarrow.parquet as pq

        os.makedirs(path, exist_ok=True)
        pq.write_table(table, os.path.join(path, "part-00000.parquet"))


@pytest.fixture
def simulate(storage):
    """`simulate(*listeners)` → a FlowSimulator on the test storage."""

    def make(*listeners, **kwargs):
        return FlowSimulator(storage, *listeners, **kwargs)

    return make
