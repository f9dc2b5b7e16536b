"""Lineage of real flows: `flow.lineage` in a notebook, `dtflw lineage`, and secrets kept out of every artifact."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from dtflw.cli import main

SECRET_FROM_VAULT = "vault-s3cr3t-value"
SECRET_ARG = "marked-secret-arg"

WRITE = """
from dtflw import init_args, init_outputs
args = init_args("token", "password")
spark.range(2).write.mode("overwrite").parquet(init_outputs("T")["T"].value)
dbutils.notebook.exit("exit value with " + args["token"].value)
"""
READ = """
from dtflw import init_inputs, init_outputs
spark.read.parquet(init_inputs("T")["T"].value).write.mode("overwrite").parquet(init_outputs("U")["U"].value)
raise RuntimeError("failing with " + dbutils.secrets.get("kv", "token"))
"""
MAIN = """
from dtflw import init_flow
flow = init_flow()
token = dbutils.secrets.get("kv", "token")
flow.notebook("write").args({"token": token, "password": "SECRET_ARG"}, secret=["password"]).output("T").run()
try:
    flow.notebook("read").input("T").output("U").run()
except Exception:
    pass
graph = flow.lineage
producer = graph.latest_producer("T")
graph.display()
dbutils.notebook.exit(f"{producer.notebook_path}|{len(graph.runs_of('read'))}|{graph.runs_of('read')[0].status.value}")
""".replace("SECRET_ARG", SECRET_ARG)


def all_text_under(*folders):
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    yield os.path.join(root, name), f.read()


def test_lineage_in_a_notebook_and_no_secret_in_any_artifact(make_workspace, tmp_path, capsys):
    ws = make_workspace(environ={"DTFLW_SECRET_KV_TOKEN": SECRET_FROM_VAULT})
    ws.write("p/write.py", WRITE)
    ws.write("p/read.py", READ)
    ws.write("p/main.py", MAIN)
    assert ws.run("p/main.py") == "/Users/tester@example.com/p/write|1|failed"
    assert "dtflw lineage" in capsys.readouterr().out, "display() rendered the report with displayHTML"

    runner = CliRunner()
    exports = tmp_path / "exports"
    exports.mkdir()
    for fmt in ("json", "openlineage", "mermaid", "dot", "html"):
        out = exports / f"lineage.{fmt}"
        result = runner.invoke(
            main, ["lineage", "export", "--format", fmt, "--out", str(out), "--storage", str(ws.storage_folder)]
        )
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    shown = runner.invoke(main, ["lineage", "show", "--select", "+U", "--storage", str(ws.storage_folder)])
    assert shown.exit_code == 0 and "read" in shown.output and "[REDACTED]" in shown.output

    documents = list((ws.storage_folder / "_dtflw" / "runs").iterdir())
    assert len(documents) == 1
    doc = json.loads(documents[0].read_text())
    assert doc["flow_run"]["status"] == "failed"
    assert [(r["rel_path"], r["status"]) for r in doc["notebook_runs"]] == [("write", "succeeded"), ("read", "failed")]
    scanned = 0
    for path, content in all_text_under(ws.storage_folder, exports):
        scanned += 1
        for secret in (SECRET_FROM_VAULT, SECRET_ARG):
            assert secret.encode() not in content, f"{secret} leaked into {path}"
    assert scanned >= 8


def test_lineage_cli_reports_bad_input(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["lineage", "export", "--format", "yaml", "--storage", str(tmp_path)])
    assert result.exit_code == 2 and "'json', 'openlineage', 'mermaid', 'dot', 'html'" in result.output
    result = runner.invoke(main, ["lineage", "show", "--select", "+", "--storage", str(tmp_path)])
    assert result.exit_code == 1 and "SelectionError" in result.stderr and "valid forms" in result.stderr
    (tmp_path / "_dtflw" / "runs").mkdir(parents=True)
    (tmp_path / "_dtflw" / "runs" / "foreign.json").write_text("{not json")
    result = runner.invoke(main, ["lineage", "show", "--storage", str(tmp_path)])
    assert result.exit_code == 0 and "skipped" in result.stderr and "foreign.json" in result.stderr
