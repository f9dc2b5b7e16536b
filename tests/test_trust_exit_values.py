"""Issue 18, point 10: an exit value larger than Databricks returns (5 MB) is an error naming the
notebook, as on Databricks; a large one is never stored whole in the runs document."""

from __future__ import annotations

import pytest

from dtflw.errors import ExitValueTooLargeError
from dtflw.events import EXIT_VALUE_LIMIT
from dtflw.incremental import STATE_DIR
from dtflw.lineage import LineageGraph
from dtflw.local.dbutils import MAX_EXIT_VALUE_BYTES
from dtflw.storage.base import FolderStorage

CALLEE = """
dbutils.widgets.text("size", "0")
dbutils.widgets.text("out_out", "")
spark.range(1).write.mode("overwrite").parquet(dbutils.widgets.get("out_out"))
dbutils.notebook.exit("é" * (int(dbutils.widgets.get("size")) // 2))  # two bytes a character
"""
MAIN = """
from dtflw import init_flow, init_args
size = init_args({"size": "0"})["size"].value
value = init_flow().notebook("callee").args({"size": size}).output("out").run()
dbutils.notebook.exit(str(len(value.encode())))
"""


@pytest.fixture
def ws(workspace):
    workspace.write("p/callee.py", CALLEE)
    workspace.write("p/main.py", MAIN)
    return workspace


def test_an_exit_value_of_5_mb_is_returned_whole_and_stored_cut(ws):
    assert ws.run("p/main.py", {"size": str(MAX_EXIT_VALUE_BYTES)}) == str(MAX_EXIT_VALUE_BYTES)
    for document in (ws.storage_folder / "_dtflw").rglob("*.json"):
        assert document.stat().st_size < 100_000, document
    run = next(iter(LineageGraph.load(FolderStorage(str(ws.storage_folder))).runs.values()))
    assert run.exit_value.startswith("é" * EXIT_VALUE_LIMIT) and run.exit_value.endswith("more characters]")
    assert "é" not in "".join(p.read_text() for p in (ws.storage_folder / STATE_DIR).iterdir())


def test_an_exit_value_over_5_mb_fails_naming_the_notebook(ws):
    with pytest.raises(ExitValueTooLargeError) as caught:
        ws.run("p/main.py", {"size": str(MAX_EXIT_VALUE_BYTES + 2)})
    assert caught.value.notebook_path == "/Users/tester@example.com/p/callee"
    assert (
        f"Notebook '/Users/tester@example.com/p/callee' exits with a value of {MAX_EXIT_VALUE_BYTES + 2} bytes"
        in str(caught.value)
    )
    graph = LineageGraph.load(FolderStorage(str(ws.storage_folder)))
    (run,) = graph.runs.values()
    assert run.status.value == "failed" and run.error.startswith("ExitValueTooLargeError: Notebook")
