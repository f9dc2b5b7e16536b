"""`dtflw import aef`: an AEF definition becomes a pipeline file that runs its steps in the same order."""

from __future__ import annotations

import json
import pathlib

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from dtflw.cli import main
from dtflw.errors import PipelineFileError
from dtflw.pipeline_files.aef import import_aef, pipeline_text
from dtflw.pipeline_files.chains import chain_edges
from dtflw.pipeline_files.loading import load_pipeline

DEFINITION = pathlib.Path(__file__).parent / "data" / "aef_two_levels.json"
LOGGED = """
import json, time
dbutils.widgets.text("region", "")
dbutils.widgets.text("limits", "")
me = dbutils.notebook.entry_point.getDbutils().notebook().getContext().notebookPath().get()
with open({log!r}, "a") as log:
    log.write(json.dumps(["start", me]) + "\\n")
time.sleep(0.05)
with open({log!r}, "a") as log:
    log.write(json.dumps(["end", me]) + "\\n")
dbutils.notebook.exit(dbutils.widgets.get("region") + "|" + dbutils.widgets.get("limits"))
"""


def test_levels_threads_and_steps_become_explicit_dependencies():
    document = import_aef(str(DEFINITION), "jobs")
    assert [(s["name"], s["notebook"], s["tags"]) for s in document["steps"]] == [
        ("L1", "jobs/load_sales", ["level_1"]),
        ("L2", "jobs/clean_sales", ["level_1"]),
        ("L3", "jobs/load_stock", ["level_1"]),
        ("R1", "jobs/report", ["level_2"]),
        ("R2", "jobs/load_sales", ["level_2"]),  # the same notebook again: its own step
    ]
    assert document["dependencies"] == ["L1 >> L2", "[L2, L3] >> [R1, R2]"]
    assert document["steps"][0]["args"] == {"region": "north", "limits": "[1, 2]"}
    assert document["steps"][0]["timeout"] == 300


def test_the_imported_pipeline_runs_in_aef_order(workspace, tmp_path):
    log = tmp_path / "order.log"
    for name in ("load_sales", "clean_sales", "load_stock", "report"):
        workspace.write(f"p/jobs/{name}.py", LOGGED.format(log=str(log)))
    pipeline = workspace.root / "p/imported.yml"
    result = CliRunner().invoke(
        main, ["import", "aef", str(DEFINITION), "--out", str(pipeline), "--notebooks-dir", "jobs"]
    )
    assert result.exit_code == 0, result.output
    assert "5 step(s) written to" in result.stderr
    assert len(load_pipeline(str(pipeline)).steps) == 5
    outcome = json.loads(workspace.run("p/imported.yml"))
    assert outcome["steps"]["L1"] == "north|[1, 2]"
    events = [tuple(json.loads(line)) for line in log.read_text().splitlines()]

    def at(kind, name):
        return [i for i, e in enumerate(events) if e == (kind, f"/Users/tester@example.com/p/jobs/{name}")]

    assert len(events) == 10
    level_1_ends = max(at("end", "clean_sales") + at("end", "load_stock"))
    assert min(at("end", "load_sales")) < min(at("start", "clean_sales"))  # L1 >> L2 (a thread's steps)
    assert level_1_ends < min(at("start", "report"))  # level 2 after the whole of level 1
    assert level_1_ends < max(at("start", "load_sales"))  # R2, load_sales again


@pytest.mark.parametrize(
    "definition, wanted",
    [
        ('{"definition": []}', "a.json:1: definition: expected a non-empty list of LEVELs"),
        ('{"definition": [\n  {"THREADS": [\n    {"STEPS": [\n      {"JOB_ID": "x"}\n    ]}\n  ]}\n]}',
         "a.json:4: definition[0].THREADS[0].STEPS[0]: a STEP needs a JOB_NAME"),
        ('{"definition": [{"THREADS": [{"STEPS": [{"JOB_NAME": "x", "STEP_PROPERTIES": "{oops"}]}]}]}',
         "STEPS[0].STEP_PROPERTIES: not a JSON object"),
        ('{"definition": [\n {"THREADS": {}}]}', "a.json:2: definition[0]: a LEVEL needs a non-empty list of THREADS"),
    ],
)  # fmt: skip
def test_a_malformed_definition_is_named_by_line_and_key(tmp_path, definition, wanted):
    path = tmp_path / "a.json"
    path.write_text(definition)
    with pytest.raises(PipelineFileError, match="AEF definition") as raised:
        import_aef(str(path))
    assert wanted in str(raised.value)
    result = CliRunner().invoke(main, ["import", "aef", str(path)])
    assert result.exit_code == 1 and wanted in result.stderr


@st.composite
def aef_definitions(draw):
    """Levels of threads of steps; JOB_NAMEs repeat, JOB_IDs are sometimes missing or repeated."""
    names = st.sampled_from(["load", "clean", "report", "load stock", "x>y"])
    levels = draw(
        st.lists(st.lists(st.lists(names, min_size=1, max_size=3), min_size=1, max_size=3), min_size=1, max_size=4)
    )
    definition, where = [], {}
    for n, threads in enumerate(levels):
        level = {"LEVEL_ID": str(n + 1), "THREADS": []}
        for t, steps in enumerate(threads):
            thread = []
            for s, name in enumerate(steps):
                step = {"JOB_NAME": name}
                if draw(st.booleans()):
                    step["JOB_ID"] = draw(st.sampled_from(["J1", "J2", f"J{n}{t}{s}"]))
                thread.append(step)
                where[len(where)] = (n, t, s)
            level["THREADS"].append({"THREAD_ID": str(t + 1), "STEPS": thread})
        definition.append(level)
    return {"definition": definition}, where


@settings(max_examples=60, deadline=None)
@given(aef_definitions())
def test_any_definition_becomes_a_valid_pipeline_with_aef_order(tmp_path_factory, case):
    definition, where = case
    folder = tmp_path_factory.mktemp("aef")
    source = folder / "d.json"
    source.write_text(json.dumps(definition))
    document = import_aef(str(source))
    target = folder / "p.yml"
    target.write_text(pipeline_text(document, str(source)))
    pipeline = load_pipeline(str(target))  # valid: unique names, known steps, no cycle
    names = [pipeline.step_name(i) for i in range(len(pipeline.steps))]
    graph = {name: set() for name in names}
    for chain in pipeline.data.get("dependencies", []):
        for before, after in chain_edges(chain):
            graph[after].add(before)

    def upstream(name, seen=None):
        seen = set() if seen is None else seen
        for before in graph[name] - seen:
            seen.add(before)
            upstream(before, seen)
        return seen

    for i, a in enumerate(names):
        for j, b in enumerate(names):
            (la, ta, sa), (lb, tb, sb) = where[i], where[j]
            must_precede = la < lb or (la == lb and ta == tb and sa < sb)
            assert (a in upstream(b)) == must_precede, (a, b, where[i], where[j])
