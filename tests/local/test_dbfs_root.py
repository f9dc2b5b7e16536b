"""The DBFS root and its standard folders exist on a fresh local root, as on Databricks."""

from __future__ import annotations

import json

import pytest

from dtflw.errors import NamespacePathError
from dtflw.local.dbutils import LocalFs


def test_dbfs_root_filestore_and_tmp_exist_on_a_fresh_root(workspace, capsys):
    assert not workspace.dbfs_folder.exists()
    workspace.write(
        "nb.py",
        """
        import json
        root = sorted(f.path for f in dbutils.fs.ls("dbfs:/"))
        dbutils.fs.put("/tmp/x.txt", "hi")
        tmp = [(path, name, size) for path, name, size, _ in dbutils.fs.ls("/tmp")]  # named tuples, as on Databricks
        dbutils.notebook.exit(json.dumps([root, tmp, dbutils.fs.ls("dbfs:/FileStore")]))
        """,
    )
    root, tmp, filestore = json.loads(workspace.run("nb.py"))
    assert {"dbfs:/FileStore/", "dbfs:/tmp/", "dbfs:/mnt/", "dbfs:/user/"} <= set(root)
    assert tmp == [["dbfs:/tmp/x.txt", "x.txt", 2]]
    assert filestore == []


def test_fs_magic_lists_the_filestore(workspace, capsys):
    workspace.write("nb.py", "# MAGIC %fs ls dbfs:/FileStore", "# MAGIC %fs ls /")
    workspace.run("nb.py")
    out = capsys.readouterr().out
    assert out.startswith("[]\n")
    assert "path='dbfs:/FileStore/'" in out


def test_a_file_uri_with_a_relative_path_is_refused_as_on_databricks(tmp_path):
    fs = LocalFs(str(tmp_path / "dbfs"))
    for call in (fs.ls, fs.mkdirs, fs.rm, lambda p: fs.put(p, "x")):
        with pytest.raises(NamespacePathError, match="Relative path in absolute URI: file:x"):
            call("file:x")
    assert fs.local_path("file:/tmp/x") == "/tmp/x"
