"""Output-path derivation: `<root_dir>/<project-relative notebook path>/<Table>.<format>`."""

from __future__ import annotations

import pytest

from dtflw import init_flow
from dtflw.storage.base import FolderStorage
from dtflw.storage.dbfs import LocalDbfsStorage

WASBS = "wasbs://con@acc.blob.core.windows.net/"


def storage_for(kind, tmp_path, root_dir):
    if kind == "dbfs":
        return LocalDbfsStorage(str(tmp_path), root_dir=root_dir)
    return FolderStorage(str(tmp_path), base_path={"mock": "mock:/", "wasbs": WASBS}[kind], root_dir=root_dir)


CASES = [
    # storage, root_dir, caller notebook, flow.notebook(...), output, expected path
    ("mock", "", "/Repos/a@b.c/project/main", "nb", "foo", "mock:/project/nb/foo.parquet"),
    (
        "wasbs",
        "analysis",
        "/Repos/user@company.com/project/main",
        "calculate_sales_stats",
        "SalesStatsPerProduct",
        WASBS + "analysis/project/calculate_sales_stats/SalesStatsPerProduct.parquet",
    ),
    ("wasbs", "analysis", "/Repos/u@x/project/main", "dir/nb", "T", WASBS + "analysis/project/dir/nb/T.parquet"),
    (
        "dbfs",
        "FileStore/u@x",
        "/Users/u@x/dtflw_intro/main",
        "ingest_data",
        "Orders",
        "dbfs:/FileStore/u@x/dtflw_intro/ingest_data/Orders.parquet",
    ),
    (
        "dbfs",
        "FileStore/u@x",
        "/Users/u@x/dtflw_intro/main",
        "analysis/main",
        "ProductRevenueStats",
        "dbfs:/FileStore/u@x/dtflw_intro/analysis/main/ProductRevenueStats.parquet",
    ),
    ("mock", "r", "/Users/a@b.c/main", "dir/nb", "T", "mock:/r/dir/nb/T.parquet"),
    # normalised where 0.6 produced odd paths
    ("mock", "", "/Repos/u@x/project/main", "../other/nb", "T", "mock:/other/nb/T.parquet"),
    ("mock", "", "/Repos/u@x/project/main", "./nb", "T", "mock:/project/nb/T.parquet"),
    ("mock", "", "/Repos/u@x/project/main", "/Repos/u@x/project/nb", "T", "mock:/project/nb/T.parquet"),
    ("mock", "", "/Shared/project/main", "nb", "T", "mock:/project/nb/T.parquet"),
    ("mock", "", "/Workspace/Users/u@x/project/main", "nb", "T", "mock:/project/nb/T.parquet"),
    ("mock", "", "/Users/u@x/project/main", "/Workspace/Repos/u@x/p2/x/nb", "T", "mock:/p2/x/nb/T.parquet"),
    ("mock", "", "/Users/u@x/project/sub/main", "../../other/nb", "T", "mock:/other/nb/T.parquet"),
]


@pytest.mark.parametrize("kind, root_dir, caller, notebook, table, expected", CASES)
def test_default_output_paths(tmp_path, runtime_at, kind, root_dir, caller, notebook, table, expected):
    with runtime_at(caller):
        flow = init_flow(storage_for(kind, tmp_path, root_dir))
        nb = flow.notebook(notebook).output(table)
    assert nb.get_outputs()[table].abs_file_path == expected


def test_alias_does_not_change_the_file_name(tmp_path, runtime_at):
    with runtime_at("/Repos/u@x/project/main"):
        nb = init_flow(storage_for("mock", tmp_path, "")).notebook("nb").output("Items", alias="Positions")
    out = nb.get_outputs()["Items"]
    assert (out.abs_file_path, out.alias) == ("mock:/project/nb/Items.parquet", "Positions")


def test_formats_per_flow_and_per_output(tmp_path, runtime_at):
    storage = FolderStorage(str(tmp_path), base_path="mock:/", table_format="delta")
    with runtime_at("/Repos/u@x/project/main"):
        nb = init_flow(storage).notebook("nb").output("A").output("B", format="parquet")
    outputs = nb.get_outputs()
    assert outputs["A"].abs_file_path.endswith("nb/A.delta") and outputs["A"].table_format == "delta"
    assert outputs["B"].abs_file_path.endswith("nb/B.parquet") and outputs["B"].table_format == "parquet"


def test_explicit_file_paths(tmp_path, runtime_at):
    with runtime_at("/Repos/u@x/project/main"):
        nb = (
            init_flow(storage_for("mock", tmp_path, "root"))
            .notebook("nb")
            .output("rel", file_path="project/foo.parquet")
            .output("abs", file_path="mock:/elsewhere/bar.delta")
        )
    outputs = nb.get_outputs()
    assert outputs["rel"].abs_file_path == "mock:/project/foo.parquet", "neither root_dir nor extension is added"
    assert outputs["abs"].abs_file_path == "mock:/elsewhere/bar.delta"
    assert outputs["abs"].table_format == "delta"


def test_azure_root_dir_defaults_to_the_workspace_user(runtime_at):
    from dtflw.storage.azure import init_storage

    with runtime_at("/Users/a@b.c/project/main"):
        storage = init_storage("acc", "con")
    assert storage.root_dir == "a@b.c"
    assert storage.base_path == "wasbs://con@acc.blob.core.windows.net/"
