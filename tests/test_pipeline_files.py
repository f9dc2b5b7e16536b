"""Pipelines as files: the example pipeline as YAML builds the same DAG and tables as main.py; a malformed
file is refused before anything runs, naming file, line and key; secrets are referenced, never inline."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from test_example_pipeline import BRONZE, GOLD, REPO, SAMPLE, assert_table, expected

from dtflw.cli import main
from dtflw.core.widgets import JOB_WIDGET
from dtflw.deploy.tasks import planned_tasks
from dtflw.errors import DeployError, NotebookFailedError, PipelineFileError
from dtflw.local.workspace import LocalSettings, LocalWorkspace
from dtflw.pipeline_files.loading import load_pipeline, schema

PIPELINE = REPO / "notebooks" / "pipeline.yml"
USER = "tester@example.com"
STEP = """
import json
dbutils.widgets.text("name", "")
dbutils.widgets.text("token", "")
name = dbutils.widgets.get("name")
dbutils.notebook.exit(json.dumps({"name": name, "token_length": len(dbutils.widgets.get("token"))}))
"""


@pytest.fixture
def storage(tmp_path):
    folder = tmp_path / "storage"
    shutil.copytree(SAMPLE, folder / "raw")
    return folder


def repo_workspace(tmp_path, engine, storage) -> LocalWorkspace:
    settings = LocalSettings(user=USER, storage_url=str(storage), dbfs_folder=str(tmp_path / "dbfs"))
    return LocalWorkspace(str(REPO), engine, settings)


def test_the_example_pipeline_file_writes_every_table_main_py_writes(tmp_path, engine, spark, storage):
    result = json.loads(repo_workspace(tmp_path, engine, storage).run_file(str(PIPELINE), {"year": "2023"}))
    tables = expected.expected_tables(str(SAMPLE), 2023)
    assert set(GOLD) <= set(result["tables"])
    for table in GOLD:
        assert_table(
            spark,
            storage,
            result["tables"][table],
            table,
            tables["SalesOrderItems" if table == "SalesLines" else table],
        )
    for table, notebook in BRONZE.items():
        path = str(storage / f"notebooks/bronze/{notebook}/{table}.parquet")
        assert result["tables"][table] == path
        assert_table(spark, storage, path, table, tables[table])
    assert json.loads(result["steps"]["silver/build_sales"])["year"] == 2023  # --arg year overrides the param


def test_the_file_plans_the_same_job_tasks_as_the_notebook(tmp_path, engine, storage):
    workspace = repo_workspace(tmp_path, engine, storage)
    from_notebook = planned_tasks(workspace, str(REPO / "notebooks/main.py"), {"year": "2023"})
    from_file = planned_tasks(workspace, str(PIPELINE), {"year": "2023"})

    def shape(tasks):  # the lineage widget names the orchestration: main or pipeline
        widgets = [{k: v for k, v in t.parameters.items() if k != JOB_WIDGET} for t in tasks]
        return [(t.key, t.notebook_path, w, sorted(t.depends_on), t.notebook_file) for t, w in zip(tasks, widgets)]

    assert shape(from_file) == shape(from_notebook)
    orchestration = {json.loads(t.parameters[JOB_WIDGET])["flow"] for t in from_file}
    assert orchestration == {f"/Users/{USER}/notebooks/pipeline"}
    assert [t.tags for t in from_file if t.tags] == [("report",)]
    assert list(storage.glob("notebooks/**/*.parquet")) == []  # planning ran nothing


def test_plan_and_select_take_a_pipeline_file(storage, monkeypatch):
    monkeypatch.chdir(storage.parent)
    arguments = ["plan", str(PIPELINE), "--storage", str(storage), "--user", USER, "--select", "+tag:report"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "/Users/tester@example.com/notebooks/gold/kpi_report  [runs" in result.stdout
    assert "analysis/main  [skips: not selected]" in result.stdout


def test_the_published_schema_is_valid_and_accepts_the_example(tmp_path):
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(yaml.safe_load(PIPELINE.read_text()), schema())
    printed = CliRunner().invoke(main, ["pipeline", "schema"])
    assert json.loads(printed.stdout) == schema()
    out = tmp_path / "pipeline.schema.json"
    assert CliRunner().invoke(main, ["pipeline", "schema", "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == schema()


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD_FILES = {
    "unknown key with its line": (
        "steps:\n  - notebook: a\n    retrys: 2\n",
        ["bad.yml:3: steps[0].retrys: unknown key 'retrys' (did you mean 'retries'?)"],
    ),
    "missing notebook": ("steps:\n  - name: a\n", ["bad.yml:2: steps[0]: missing key 'notebook'"]),
    "wrong type": (
        "steps:\n  - notebook: a\n    timeout: '10'\n",
        ["bad.yml:3: steps[0].timeout: must be a whole number, not '10'"],
    ),
    "bad table name inside an input": (
        "steps:\n  - notebook: a\n    inputs:\n      - Orders\n      - {name: 'Or ders'}\n",
        ["bad.yml:5: steps[0].inputs[1].name: 'Or ders' is not a table name"],
    ),
    "input shorthand of the wrong type": (
        "steps:\n  - notebook: a\n    inputs: [3]\n",
        ["bad.yml:3: steps[0].inputs[0]: must be text or a mapping, not 3"],
    ),
    "a key given twice": (
        "steps:\n  - notebook: a\n    lazy: true\n    lazy: false\n",
        ["bad.yml:4: steps[0].lazy: given twice"],
    ),
    "not YAML": ("steps:\n  - notebook: [a\n", ["bad.yml:3: not valid YAML"]),
    "no steps": ("name: x\n", ["bad.yml:1", "missing key 'steps'"]),
    "duplicate step names": (
        "steps:\n  - notebook: a\n  - notebook: a\n",
        ["bad.yml:3: steps[1].notebook: step name 'a' is taken by steps[0]; give one a `name:`"],
    ),
    "unknown step after": (
        "steps:\n  - notebook: load\n  - notebook: b\n    after: [laod]\n",
        ["bad.yml:4: steps[1].after[0]: no step is named 'laod' (did you mean 'load'?)"],
    ),
    "unknown parameter": (
        "params: {year: 2024}\nsteps:\n  - notebook: a\n    args: {y: '${yaer}'}\n",
        ["bad.yml:4: steps[0].args.y: ${yaer} is not a parameter of the pipeline"],
    ),
    "malformed chain": (
        "steps:\n  - notebook: a\n  - notebook: b\ndependencies:\n  - a >> [b,]\n",
        ["bad.yml:5: dependencies[0]: '[b,]' is not a step name nor a [list, of, step names]"],
    ),
    "a cycle": (
        "steps:\n  - notebook: a\n    after: [b]\n  - notebook: b\ndependencies:\n  - a >> b\n",
        ["the steps wait for each other: ", "a >> b"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_malformed_file_is_refused_naming_file_line_and_key(tmp_path, case):
    text, wanted = BAD_FILES[case]
    with pytest.raises(PipelineFileError) as raised:
        load_pipeline(write(tmp_path, "bad.yml", text))
    message = str(raised.value)
    assert f"Pipeline file {tmp_path}/bad.yml is not valid" in message or "not valid YAML" in message
    for part in wanted:
        assert part in message


def test_every_problem_is_listed_in_line_order(tmp_path):
    text = "steps:\n  - notebook: a\n    timeout: x\n  - notebook: b\n    lazy: 1\n    retrys: 1\n"
    message = str(pytest.raises(PipelineFileError, load_pipeline, write(tmp_path, "bad.yml", text)).value)
    assert "(3 problems)" in message
    assert message.index("bad.yml:3:") < message.index("bad.yml:5:") < message.index("bad.yml:6:")


def test_a_json_pipeline_names_lines_too(tmp_path):
    text = '{\n  "steps": [\n    {"notebook": "a"},\n    {"notebook": "b", "lazy": "yes"}\n  ]\n}\n'
    message = str(pytest.raises(PipelineFileError, load_pipeline, write(tmp_path, "p.json", text)).value)
    assert "p.json:4: steps[1].lazy: must be true or false, not 'yes'" in message
    broken = str(
        pytest.raises(PipelineFileError, load_pipeline, write(tmp_path, "q.json", '{\n  "steps": [,]\n}')).value
    )
    assert "q.json:2: not valid JSON" in broken


def test_yaml_dates_are_text_and_booleans_json(workspace):
    workspace.write("p/step.py", 'dbutils.widgets.text("d", "")\ndbutils.widgets.text("f", "")\n'
                    'dbutils.notebook.exit(dbutils.widgets.get("d") + "|" + dbutils.widgets.get("f"))')  # fmt: skip
    (workspace.root / "p/pipe.yml").write_text("steps:\n  - notebook: step\n    args: {d: 2024-01-31, f: true}\n")
    result = json.loads(workspace.run("p/pipe.yml"))
    assert result["steps"] == {"step": "2024-01-31|true"}


def test_a_step_the_builder_refuses_is_named_in_the_file_and_nothing_runs(workspace):
    workspace.write("p/step.py", STEP)
    (workspace.root / "p/pipe.yml").write_text(
        "steps:\n  - notebook: step\n    outputs: [A]\n"
        "  - notebook: other\n    outputs: [{name: B, file_path: p/step/A.parquet}]\n"
    )
    with pytest.raises(PipelineFileError, match=r"pipe.yml:4: steps\[1\]: .*A.parquet"):
        workspace.run("p/pipe.yml")
    assert not workspace.storage_folder.exists() or not list(workspace.storage_folder.rglob("*.parquet"))


def test_order_from_after_and_dependencies_is_kept(workspace, tmp_path):
    log = tmp_path / "order.log"
    workspace.write(
        "p/step.py",
        f'import time\ndbutils.widgets.text("name", "")\nname = dbutils.widgets.get("name")\n'
        f'open({str(log)!r}, "a").write(f"start {{name}}\\n")\ntime.sleep(0.05)\n'
        f'open({str(log)!r}, "a").write(f"end {{name}}\\n")',
    )
    steps = "".join(f"  - {{notebook: step, name: {n}, args: {{name: {n}}}}}\n" for n in "abcd")
    (workspace.root / "p/pipe.yml").write_text(f"workers: 4\nsteps:\n{steps}dependencies:\n  - a >> [b, c] >> d\n")
    workspace.run("p/pipe.yml")
    events = log.read_text().split("\n")
    for before, after in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]:
        assert events.index(f"end {before}") < events.index(f"start {after}")


def test_secret_args_are_read_from_the_scope_and_never_inline(make_workspace, tmp_path):
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"kv": {"api": "s3cr3t-value"}}))
    workspace = make_workspace(secrets_file=str(secrets))
    workspace.write("p/step.py", STEP)
    (workspace.root / "p/pipe.yml").write_text(
        "steps:\n  - notebook: step\n    args: {name: a}\n    secret_args: {token: {scope: kv, key: api}}\n"
    )
    result = json.loads(workspace.run("p/pipe.yml"))
    assert json.loads(result["steps"]["step"]) == {"name": "a", "token_length": len("s3cr3t-value")}
    recorded = "".join(p.read_text() for p in workspace.storage_folder.rglob("*.json"))
    assert recorded and "s3cr3t-value" not in recorded
    with pytest.raises(DeployError, match="secret argument"):
        planned_tasks(workspace.local, str(workspace.root / "p/pipe.yml"))
    (workspace.root / "p/inline.yml").write_text("steps:\n  - notebook: step\n    secret_args: {token: s3cr3t}\n")
    with pytest.raises(PipelineFileError, match=r"inline.yml:3: steps\[0\].secret_args.token: must be a mapping"):
        workspace.run("p/inline.yml")


def test_a_failing_step_fails_the_pipeline_run(workspace):
    workspace.write("p/boom.py", "raise ValueError('boom')")
    (workspace.root / "p/pipe.yml").write_text("steps:\n  - notebook: boom\n    retries: {count: 1, backoff: 0}\n")
    with pytest.raises(NotebookFailedError, match="boom"):
        workspace.run("p/pipe.yml")


def test_pipeline_check_command(tmp_path):
    good = write(tmp_path, "good.yml", "steps:\n  - notebook: a\n")
    bad = write(tmp_path, "bad.yml", "steps: []\n")
    result = CliRunner().invoke(main, ["pipeline", "check", good, bad])
    assert result.exit_code == 1
    assert f"✔ {good}: 1 step(s)" in result.stderr
    assert "bad.yml:1: steps: [] should be non-empty" in result.stderr
    assert CliRunner().invoke(main, ["pipeline", "check", good]).exit_code == 0


def test_the_file_names_its_storage_and_a_step_the_builder_refuses(workspace, tmp_path):
    workspace.write(
        "p/step.py", 'dbutils.widgets.text("A_out", "")\nspark.range(2).write.parquet(dbutils.widgets.get("A_out"))'
    )
    own = tmp_path / "own-storage"
    (workspace.root / "p/pipe.yml").write_text(f"storage: file://{own}\nsteps:\n  - notebook: step\n    outputs: [A]\n")
    result = json.loads(workspace.run("p/pipe.yml"))
    assert result["tables"] == {"A": str(own / "p/step/A.parquet")}
    assert (own / "p/step/A.parquet").is_dir()
    (workspace.root / "p/twice.yml").write_text(
        "steps:\n  - notebook: step\n  - notebook: step\n    name: again\n    outputs: [A, {name: B, file_path: p/step/A.parquet}]\n"
    )
    with pytest.raises(PipelineFileError, match=r"twice.yml:3: steps\[1\]: Outputs 'B' .* and 'A' .* overlap"):
        workspace.run("p/twice.yml")


def test_dtflw_plan_shows_a_steps_name_beside_its_notebook(tmp_path):
    from click.testing import CliRunner

    from dtflw.cli import main

    (tmp_path / "p").mkdir()
    (tmp_path / "p/step.py").write_text("# Databricks notebook source\ndbutils.notebook.exit('ok')\n")
    (tmp_path / "p/pipe.yml").write_text("steps:\n  - {notebook: step, name: load, outputs: [A]}\n")
    result = CliRunner().invoke(main, ["plan", str(tmp_path / "p/pipe.yml"), "--storage", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "/p/step (step 'load')  [runs: not lazy]" in result.stdout
