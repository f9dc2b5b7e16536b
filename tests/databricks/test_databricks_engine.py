"""The databricks engine: a real databricks-connect DatabricksSession (against a local Sail server) and
the real databricks-sdk client (against a fake workspace REST API)."""

from __future__ import annotations

import json
import pathlib

import pytest

pytest.importorskip(
    "databricks.connect",
    reason="databricks-connect is not installed in this environment; the databricks suite runs in its own "
    "environment: `make test-databricks`",
)

from click.testing import CliRunner  # noqa: E402
from testkit import notebook_source  # noqa: E402

from dtflw.cli import main  # noqa: E402
from dtflw.engines import create_engine  # noqa: E402
from dtflw.errors import DatabricksConfigError, NotebookFailedError  # noqa: E402
from dtflw.local.workspace import LocalSettings, LocalWorkspace  # noqa: E402

CLUSTER = "0123-456789-abcdefgh"
MARKER = notebook_source("open('ran.txt', 'w').write('the notebook ran')")


def write(root: pathlib.Path, rel: str, *cells: str) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(notebook_source(*cells))
    return str(path)


def run_on_databricks(sail_url: str, root: pathlib.Path, storage: pathlib.Path, notebook: str = "nb.py"):
    """Run `root/notebook` with the databricks engine (Spark on the Sail server) on `storage`; its exit value."""
    with create_engine("databricks", url=sail_url) as engine:
        settings = LocalSettings(user="tester@example.com", storage_url=str(storage))
        return LocalWorkspace(str(root), engine, settings).run_file(str(root / notebook))


def run_marker(tmp_path, engine):
    notebook = tmp_path / "ws" / "marker.py"
    notebook.parent.mkdir()
    notebook.write_text(MARKER)
    workspace = LocalWorkspace(
        str(tmp_path / "ws"), engine, LocalSettings(user="tester@example.com", storage_url=str(tmp_path / "s"))
    )
    with engine, pytest.raises(DatabricksConfigError) as raised:
        workspace.run_file(str(notebook))
    assert not (tmp_path / "ran.txt").exists(), "no notebook runs half-configured"
    return str(raised.value)


def test_no_workspace_configured_names_host_token_and_profile(workspace_api, monkeypatch, tmp_path):
    monkeypatch.delenv("DATABRICKS_HOST")
    monkeypatch.delenv("DATABRICKS_TOKEN")
    message = run_marker(tmp_path, create_engine("databricks", cluster_id=CLUSTER))
    assert "set DATABRICKS_HOST and DATABRICKS_TOKEN" in message and "--profile NAME" in message


def test_no_compute_names_cluster_id_and_serverless(workspace_api, tmp_path):
    message = run_marker(tmp_path, create_engine("databricks"))
    assert "no compute" in message and "--cluster-id" in message and "DATABRICKS_SERVERLESS_COMPUTE_ID" in message


def test_a_cluster_and_serverless_together_are_refused(workspace_api, tmp_path):
    message = run_marker(tmp_path, create_engine("databricks", cluster_id=CLUSTER, serverless=True))
    assert "pass only one of --cluster-id" in message


def test_a_refused_token_is_named_but_never_shown(workspace_api, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong-token-42")
    message = run_marker(tmp_path, create_engine("databricks", cluster_id=CLUSTER))
    assert "refused the credentials" in message and "Fix DATABRICKS_TOKEN" in message
    assert "dapi-wrong-token-42" not in message and workspace_api.token not in message


def test_an_unknown_cluster_is_named_with_the_setting_to_fix(workspace_api, tmp_path):
    message = run_marker(tmp_path, create_engine("databricks", cluster_id="0000-nope"))
    assert "Cluster '0000-nope' does not exist" in message and "fix --cluster-id" in message
    assert workspace_api.calls("/api/2.1/clusters/get") == [404]


def test_the_cli_reports_a_configuration_error_and_runs_nothing(workspace_api, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    notebook = tmp_path / "ws" / "p" / "marker.py"
    notebook.parent.mkdir(parents=True)
    notebook.write_text(MARKER)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong-token-42")
    result = CliRunner().invoke(main, ["run", str(notebook), "--engine", "databricks", "--cluster-id", CLUSTER])
    assert result.exit_code == 1
    assert "DatabricksConfigError" in result.output and "Fix DATABRICKS_TOKEN" in result.output
    assert "dapi-wrong-token-42" not in result.output
    assert not (tmp_path / "ran.txt").exists()


def test_each_notebook_gets_a_databricks_session_of_its_own(sail_url, tmp_path, monkeypatch):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none"))
    root = tmp_path / "ws"
    write(
        root,
        "main.py",
        "spark.range(3).createOrReplaceTempView('mine')",
        "import json; other = dbutils.notebook.run('./peek', 0, {})",
        "dbutils.notebook.exit(json.dumps({'other': other, 'mine': spark.table('mine').count(), "
        "'session': type(spark).__module__}))",
    )
    write(
        root,
        "peek.py",
        "try:\n    spark.table('mine').count()\n    dbutils.notebook.exit('leaked')\n"
        "except Exception as e:\n    dbutils.notebook.exit(type(e).__name__)",
    )
    engine = create_engine("databricks", url=sail_url)
    with engine:
        workspace = LocalWorkspace(
            str(root), engine, LocalSettings(user="tester@example.com", storage_url=str(tmp_path / "s"))
        )
        result = json.loads(workspace.run_file(str(root / "main.py")))
    assert result == {"other": "AnalysisException", "mine": 3, "session": "pyspark.sql.connect.session"}


def test_notebooks_use_the_workspace_s_dbutils_fs_and_secrets(workspace_api, sail_url, tmp_path):
    workspace_api.secrets["app"] = {"token": "s3cr3t-value"}
    workspace_api.forbidden_scopes.add("hr")
    root = tmp_path / "ws"
    write(
        root,
        "nb.py",
        """
        import json
        token = dbutils.secrets.get("app", "token")
        dbutils.fs.put("dbfs:/landing/hello.txt", "hello from " + str(len(token)), True)
        listed = [f.name for f in dbutils.fs.ls("dbfs:/landing")]
        try:
            dbutils.secrets.get("hr", "salary")
            forbidden = "read"
        except Exception as e:
            forbidden = type(e).__name__
        dbutils.notebook.exit(json.dumps({"listed": listed, "head": dbutils.fs.head("dbfs:/landing/hello.txt"),
                                          "keys": [s.key for s in dbutils.secrets.list("app")], "forbidden": forbidden}))
        """,
    )
    engine = create_engine("databricks", url=sail_url)
    with engine:
        workspace = LocalWorkspace(
            str(root), engine, LocalSettings(user="tester@example.com", storage_url=str(tmp_path / "s"))
        )
        workspace_api.throttle(2)  # the first two requests get 429 + Retry-After: the client waits and retries
        result = json.loads(workspace.run_file(str(root / "nb.py")))
    assert result == {
        "listed": ["hello.txt"],
        "head": "hello from 12",
        "keys": ["token"],
        "forbidden": "PermissionDenied",
    }
    assert workspace_api.files["/landing/hello.txt"] == b"hello from 12"
    assert [s for _, path, s in workspace_api.requests if path.startswith("/api/")][:3] == [429, 429, 200]
    assert "s3cr3t-value" in workspace.secret_values  # redacted from logs and lineage from now on
    assert not (tmp_path / ".dtflw" / "dbfs").exists()  # nothing went to the local DBFS stand-in


def test_a_missing_secret_fails_the_notebook_naming_it(workspace_api, sail_url, tmp_path):
    root = tmp_path / "ws"
    write(root, "nb.py", "dbutils.secrets.get('app', 'token')")
    engine = create_engine("databricks", url=sail_url)
    with engine:
        workspace = LocalWorkspace(
            str(root), engine, LocalSettings(user="tester@example.com", storage_url=str(tmp_path / "s"))
        )
        with pytest.raises(NotebookFailedError, match="Scope app does not exist"):
            workspace.run_file(str(root / "nb.py"))


def test_dbfs_storage_is_the_workspace_s_and_checks_a_table_with_one_request(workspace_api, sail_url, tmp_path):
    workspace_api.files["/lake/t/Orders.parquet/part-00000.parquet"] = b"PAR1"
    workspace_api.files["/lake/t/Orders.parquet/_SUCCESS"] = b""
    workspace_api.dirs |= {"/lake", "/lake/t", "/lake/t/Orders.parquet"}
    root = tmp_path / "ws"
    write(
        root,
        "nb.py",
        """
        import json
        from dtflw.runtime import current_runtime
        from dtflw.storage import from_url
        storage = from_url("dbfs:/lake", current_runtime().storage_environment())
        # paths relative to the storage's base (dbfs:/); root_dir "lake" is where flows derive outputs
        found = {"orders": storage.exists("lake/t/Orders.parquet"), "missing": storage.exists("lake/t/Missing.parquet")}
        storage.write_text("lake/t/notes.txt", "written through the DBFS API")
        found["ls"] = [f.name for f in dbutils.fs.ls("dbfs:/lake/t")]
        dbutils.notebook.exit(json.dumps({"storage": type(storage).__name__, **found}))
        """,
    )
    engine = create_engine("databricks", url=sail_url)
    with engine:
        workspace = LocalWorkspace(
            str(root), engine, LocalSettings(user="tester@example.com", storage_url=str(tmp_path / "s"))
        )
        result = json.loads(workspace.run_file(str(root / "nb.py")))
    assert result == {
        "storage": "DbfsStorage",
        "orders": True,
        "missing": False,
        "ls": ["Orders.parquet/", "notes.txt"],
    }
    assert workspace_api.files["/lake/t/notes.txt"] == b"written through the DBFS API"
    lists = workspace_api.calls("/api/2.0/dbfs/list")
    assert lists[:2] == [200, 404]  # one request per existence check: the table's folder listed once
    assert workspace_api.calls("/api/2.0/dbfs/get-status") == []
    assert not (tmp_path / ".dtflw").exists()  # nothing in a local DBFS stand-in


def test_the_test_kit_puts_text_files_into_a_dbfs_storage_through_the_workspace(workspace_api, sail_url, tmp_path):
    from dtflw.errors import NotebookTestError
    from dtflw.testing import NotebookTester

    sample = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "data" / "sample"
    (tmp_path / "ws").mkdir()
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe\x00")
    with create_engine("databricks", url=sail_url) as engine:
        tester = NotebookTester(engine, str(tmp_path / "ws"), "dbfs:/tmp/tests/t1", str(tmp_path / "state"))
        assert tester.put(sample, "raw") == "dbfs:/raw"  # relative to the storage's base, as flows resolve inputs
        assert tester.put(sample / "products.csv", "raw/products-again.csv") == "dbfs:/raw/products-again.csv"
        with pytest.raises(NotebookTestError, match="blob.bin is not text"):
            tester.put(tmp_path / "blob.bin", "raw/blob.bin")
        assert tester.storage.exists("raw/orders.csv")
    assert workspace_api.files["/raw/orders.csv"] == (sample / "orders.csv").read_bytes()
    assert workspace_api.files["/raw/products-again.csv"] == (sample / "products.csv").read_bytes()


def test_volume_paths_go_through_the_files_api(workspace_api, sail_url, tmp_path):
    workspace_api.volume_files["/Volumes/main/sales/lake/raw/orders.csv"] = b"order_id\n1\n"
    workspace_api._volume_mkdirs("/Volumes/main/sales/lake/raw")
    root = tmp_path / "ws"
    write(
        root,
        "nb.py",
        """
        import json
        lake = "/Volumes/main/sales/lake"
        dbutils.fs.put(lake + "/notes/today.txt", "hello", True)
        dbutils.fs.mkdirs(lake + "/empty")
        found = {
            "ls": [(f.name, f.size) for f in dbutils.fs.ls(lake)],
            "raw": [f.path for f in dbutils.fs.ls("dbfs:" + lake + "/raw")],
            "file": [f.name for f in dbutils.fs.ls(lake + "/raw/orders.csv")],
            "head": dbutils.fs.head(lake + "/raw/orders.csv", 8),
        }
        try:
            dbutils.fs.ls(lake + "/nothing")
        except FileNotFoundError as e:
            found["missing"] = str(e)
        dbutils.notebook.exit(json.dumps(found))
        """,
    )
    result = json.loads(run_on_databricks(sail_url, root, tmp_path / "s"))
    assert result == {
        "ls": [["empty/", 0], ["notes/", 0], ["raw/", 0]],
        "raw": ["/Volumes/main/sales/lake/raw/orders.csv"],
        "file": ["orders.csv"],
        "head": "order_id",
        "missing": "java.io.FileNotFoundException: File /Volumes/main/sales/lake/nothing does not exist.",
    }
    assert workspace_api.volume_files["/Volumes/main/sales/lake/notes/today.txt"] == b"hello"
    assert workspace_api.calls("/api/2.0/fs/directories/Volumes/main/sales/lake") == [200]


def test_volume_storage_is_the_workspace_s_and_checks_a_table_with_one_request(workspace_api, sail_url, tmp_path):
    table = "/Volumes/main/sales/lake/t/Orders.parquet"
    workspace_api.volume_files[table + "/part-00000.parquet"] = b"PAR1"
    workspace_api._volume_mkdirs(table)
    root = tmp_path / "ws"
    write(
        root,
        "nb.py",
        """
        import json
        from dtflw.runtime import current_runtime
        from dtflw.storage import from_url
        storage = from_url("/Volumes/main/sales/lake/analysis", current_runtime().storage_environment())
        found = {"storage": type(storage).__name__, "url": storage.url}
        found["orders"] = storage.exists("t/Orders.parquet")
        found["missing"] = storage.exists("t/Missing.parquet")
        storage.write_text("t/notes.txt", "through the Files API")
        found["notes"] = storage.read_text("t/notes.txt")
        dbutils.notebook.exit(json.dumps(found))
        """,
    )
    result = json.loads(run_on_databricks(sail_url, root, tmp_path / "s"))
    assert result == {
        "storage": "WorkspaceVolumeStorage",
        "url": "/Volumes/main/sales/lake/analysis",
        "orders": True,
        "missing": False,
        "notes": "through the Files API",
    }
    assert workspace_api.calls("/api/2.0/fs/directories" + table) == [200]  # one request for the existence check
    assert workspace_api.volume_files["/Volumes/main/sales/lake/t/notes.txt"] == b"through the Files API"
    assert not (tmp_path / ".dtflw").exists()  # nothing in a local /Volumes stand-in


def test_workspace_secrets_and_the_token_never_reach_lineage(workspace_api, sail_url, tmp_path):
    workspace_api.secrets["app"] = {"password": "pa55-w0rd-xyz"}
    root = tmp_path / "ws"
    write(
        root,
        "main.py",
        """
        from dtflw import init_flow
        password = dbutils.secrets.get("app", "password")
        flow = init_flow()
        result = flow.notebook("child").args({"password": password}).run()
        dbutils.notebook.exit(result)
        """,
    )
    write(root, "child.py", "dbutils.notebook.exit('child got ' + dbutils.widgets.get('password'))")
    storage = tmp_path / "storage"
    assert run_on_databricks(sail_url, root, storage, "main.py") == "child got pa55-w0rd-xyz"  # it sees it
    documents = [p.read_text() for p in storage.rglob("*.json")]
    assert documents, "lineage was recorded"
    assert not any("pa55-w0rd-xyz" in d or workspace_api.token in d for d in documents)


def test_expectations_are_evaluated_on_the_databricks_session(sail_url, tmp_path, monkeypatch):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none"))
    root, storage = tmp_path / "ws", tmp_path / "s"
    write(
        root,
        "clean.py",
        "from dtflw import init_outputs\n"
        "rows = [(1, 5), (2, -1), (3, -2)]\n"
        "spark.createDataFrame(rows, 'order_id int, qty int').write.mode('overwrite')"
        ".parquet(init_outputs('Orders')['Orders'].value)",
    )
    main = (
        "from dtflw import init_flow\nflow = init_flow()\n"
        "flow.notebook('clean').output('Orders', {}={{'qty_positive': 'qty > 0'}}).run()\n"
        "dbutils.notebook.exit('done')"
    )
    write(root, "main.py", main.format("expect"))
    assert run_on_databricks(sail_url, root, storage, "main.py") == "done"
    from dtflw.lineage import LineageGraph
    from dtflw.storage.base import FolderStorage

    (result,) = LineageGraph.load(FolderStorage(str(storage))).latest_producer("Orders").expectations
    assert (result.name, result.passed, result.failed, result.action) == ("qty_positive", 1, 2, "warn")
    write(root, "main.py", main.format("expect_or_fail"))
    with pytest.raises(NotebookFailedError, match=r"Orders.qty_positive \(qty > 0, fail\): 2 of 3 rows failed"):
        run_on_databricks(sail_url, root, storage, "main.py")
