"""Issue 18, point 1 on Unity Catalog volumes reached through the Files API (the databricks engine): a
file lists with its `Last-Modified`, so an output file written again is told from the one before it."""

from __future__ import annotations

from databricks.sdk import WorkspaceClient

from dtflw.storage.tables import FileInfo as TableFile
from dtflw.storage.tables import state_from_listing, written_between
from dtflw.storage.workspace_fs import WorkspaceFs

PATH = "/Volumes/main/sales/lake/report.csv"


def _state(fs: WorkspaceFs):
    (info,) = fs.ls(PATH)
    return state_from_listing(PATH, [TableFile(info.path, info.name, info.size, info.modificationTime)])


def test_a_volume_file_written_again_is_a_new_version(workspace_api):
    fs = WorkspaceFs(WorkspaceClient())
    fs.put(PATH, "a,b\n1,2\n", overwrite=True)
    before = _state(fs)
    assert before.modified_ms == int(workspace_api.volume_times[PATH]) * 1000  # HTTP dates have seconds
    assert not written_between(before, _state(fs))
    workspace_api.volume_times[PATH] += 1  # the same bytes written again, a second later
    assert written_between(before, _state(fs))
