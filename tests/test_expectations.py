"""Expectations on outputs: evaluated in one scan right after the notebook writes, recorded in lineage,
warned about, and a failed blocking one fails the step, skips its dependents and is never lazily skipped."""

from __future__ import annotations

import pytest

from dtflw.errors import ExpectationError, ExpectationFailedError, NotebookFailedError
from dtflw.lineage import LineageGraph
from dtflw.storage.base import FolderStorage

CLEAN = """
from dtflw import init_args, init_outputs
bad = int(init_args({"bad": "0"})["bad"].value)
rows = [(i, None if i < 1 else i, -1 if i < bad else 5) for i in range(10)]
df = spark.createDataFrame(rows, "order_id int, id int, qty int")
df.write.mode("overwrite").parquet(init_outputs("Orders")["Orders"].value)
"""

REPORT = """
from dtflw import init_inputs, init_outputs
spark.read.parquet(init_inputs("Orders")["Orders"].value).write.mode("overwrite").parquet(init_outputs("Report")["Report"].value)
"""

MAIN = """
from dtflw import init_flow, init_args
bad = init_args({"bad": "0"})["bad"].value
flow = init_flow()
flow.notebook("clean").args({"bad": bad}).output(
    "Orders",
    expect={"id_present": "id IS NOT NULL"},
    expect_or_fail={"qty_positive": "qty > 0"},
    expect_table={"unique": ["order_id"], "min_rows": 1},
).run(is_lazy=True)
flow.notebook("report").input("Orders", max_age="30d").output("Report").run(is_lazy=True)
"""


@pytest.fixture
def ws(make_workspace, decisions):
    workspace = make_workspace(listeners=[decisions])
    workspace.write("p/clean.py", CLEAN)
    workspace.write("p/report.py", REPORT)
    workspace.write("p/main.py", MAIN)
    return workspace


def _results(decisions, notebook="clean"):
    run = [r for r in decisions.runs if r.notebook_path.endswith("/" + notebook)][-1]
    return run, {r.name: r for r in run.expectations}


def test_a_warn_expectation_is_counted_and_recorded_and_the_flow_goes_on(ws, decisions):
    ws.run("p/main.py")
    run, results = _results(decisions)
    assert run.status.value == "succeeded"
    assert (results["id_present"].failed, results["id_present"].passed) == (1, 9)
    assert results["id_present"].action == "warn" and results["id_present"].expression == "id IS NOT NULL"
    assert (results["qty_positive"].failed, results["unique"].failed, results["min_rows"].failed) == (0, 0, 0)
    assert decisions.take()["report"][0] == "succeeded"
    graph = LineageGraph.load(FolderStorage(str(ws.storage_folder)))
    recorded = {r.name: r for r in graph.latest_producer("Orders").expectations}
    assert recorded["id_present"].failed == 1 and recorded["qty_positive"].action == "fail"


def test_a_failed_blocking_expectation_fails_the_step_skips_dependents_and_is_never_lazily_skipped(ws, decisions):
    with pytest.raises(NotebookFailedError) as caught:
        ws.run("p/main.py", {"bad": "2"})
    error = caught.value.__cause__
    while error is not None and not isinstance(error, ExpectationFailedError):
        error = error.__cause__ or error.__context__
    assert isinstance(error, ExpectationFailedError)
    text = str(error)
    assert "'/Users/tester@example.com/p/clean'" in text and "Orders.qty_positive (qty > 0, fail)" in text
    assert "2 of 10 rows failed" in text and "failing row: {'order_id': '0', 'id': None, 'qty': '-1'}" in text
    runs = decisions.take()
    assert runs["clean"][0] == "failed" and "report" not in runs

    with pytest.raises(NotebookFailedError):  # nothing changed: a lazy run still runs it, and fails again
        ws.run("p/main.py", {"bad": "2"})
    assert decisions.take()["clean"][0] == "failed"
    assert (ws.storage_folder / "p/clean/Orders.parquet").is_dir()  # the table is kept as written

    ws.run("p/main.py", {"bad": "0"})  # the data fixed: it passes, dependents run
    runs = decisions.take()
    assert runs["clean"][0] == "succeeded" and runs["report"][0] == "succeeded"


def test_an_expression_naming_a_missing_column_is_a_typed_error_naming_the_expectation(ws, decisions):
    ws.write("p/main.py", MAIN.replace("qty > 0", "qtyy > 0"))
    with pytest.raises(NotebookFailedError) as caught:
        ws.run("p/main.py")
    text = str(caught.value)
    assert "ExpectationError" in text or "Expectation 'qty_positive'" in text
    assert "qtyy > 0" in text and "output 'Orders'" in text, text


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        ({"expect": {"a": 3}}, "must be a SQL boolean expression"),
        ({"expect": ["id > 0"]}, "must map names to SQL boolean expressions"),
        ({"expect_or_fail": {"a": "(id > 0"}}, "does not parse"),
        ({"expect": {"1bad": "id > 0"}}, "Expectation name '1bad'"),
        ({"expect": {"a": "id > 0"}, "expect_or_fail": {"a": "id < 9"}}, "more than once"),
        ({"expect_table": {"uniq": ["id"]}}, "unknown rule(s) ['uniq']"),
        ({"expect_table": {"min_rows": -1}}, "whole number of rows"),
        ({"expect_table": {"min_ratio_to_previous": 0}}, "ratio such as 0.9"),
        ({"expect_table": {"unique": []}}, "column name or a list"),
        ({"expect_table": {"min_rows": 1, "on_violation": "drop"}}, "'warn' or 'fail'"),
    ],
)
def test_a_malformed_expectation_is_refused_where_it_is_declared(runtime_at, tmp_path, kwargs, phrase):
    from dtflw import init_flow

    with runtime_at():
        flow = init_flow(FolderStorage(str(tmp_path / "store")))
        with pytest.raises(ExpectationError) as caught:
            flow.notebook("clean").output("Orders", **kwargs)
    assert phrase in str(caught.value) and "'Orders'" in str(caught.value) and "'clean'" in str(caught.value)


def test_with_declared_columns_a_bad_expression_fails_before_the_notebook_runs(ws, decisions):
    cols = '[("order_id", "int"), ("id", "int"), ("qty", "int")]'
    ws.write("p/main.py", MAIN.replace('"Orders",\n', f'"Orders", cols={cols},\n').replace("qty > 0", "qty + 1"))
    with pytest.raises(NotebookFailedError) as caught:
        ws.run("p/main.py")
    assert "Expectation 'qty_positive' (qty + 1)" in str(caught.value) and "is int, not boolean" in str(caught.value)
    assert not (ws.storage_folder / "p/clean/Orders.parquet").exists()  # the notebook never ran


def test_table_rules_unique_and_ratio_to_the_previous_version(ws, decisions):
    ws.write(
        "p/clean.py",
        CLEAN.replace("for i in range(10)]", "for i in range(int(init_args({'n': '10'})['n'].value))]").replace(
            "(i, None", "(i % 8, None"
        ),
    )
    ws.write(
        "p/main.py",
        MAIN.replace('{"bad": bad}', '{"bad": "0", "n": init_args({"n": "10"})["n"].value}').replace(
            '"min_rows": 1', '"min_ratio_to_previous": 0.9, "on_violation": "warn"'
        ),
    )
    ws.run("p/main.py", {"n": "10"})
    _, results = _results(decisions)
    assert results["unique"].failed == 2 and results["unique"].action == "warn"
    assert results["min_ratio_to_previous"].ok and "no previous version" in results["min_ratio_to_previous"].detail
    ws.run("p/main.py", {"n": "8"})  # 8 rows after 10: below 90%
    _, results = _results(decisions)
    assert results["min_ratio_to_previous"].failed == 1  # needs 9
    assert results["min_ratio_to_previous"].detail == "8 rows, previous 10 (needs >= 9)"
    assert results["unique"].ok


def test_results_show_in_lineage_show_html_and_openlineage_validated_against_the_spec(ws, decisions):
    import json

    from lineage.olspec import SpecValidator, spec_dir

    from dtflw.lineage.export_html import _data
    from dtflw.lineage.export_openlineage import _client_facets, render
    from dtflw.lineage.tree import show_tree

    ws.run("p/main.py")  # id_present warns
    with pytest.raises(NotebookFailedError):
        ws.run("p/main.py", {"bad": "2"})  # qty_positive fails
    graph = LineageGraph.load(FolderStorage(str(ws.storage_folder)))

    tree = show_tree(graph)
    assert "⚠ expect Orders.id_present (id IS NOT NULL, warn): 1 of 10 rows failed" in tree
    assert "✖ expect Orders.qty_positive (qty > 0, fail): 2 of 10 rows failed" in tree
    assert "✔ expect Orders.unique (unique(order_id), fail): 10 rows passed" in tree

    orders = next(n for n in _data(graph)["nodes"] if n["kind"] == "table" and n["name"] == "Orders")
    assert orders["quality"] == "failed" and "qty_positive (2 fail)" in orders["expectations"]
    produced = [s for s in orders["seen"] if s["kind"] == "produced"]
    assert produced[0]["status"] == "expectation id_present: 1 failed (warn)"

    validator = SpecValidator(spec_dir() or pytest.skip("no OpenLineage 2-0-2 schemas here"))
    events = [json.loads(line) for line in render(graph).splitlines()]
    assert [e for e in events if validator.errors(e)] == []
    checked = [
        (e["eventType"], o["outputFacets"]["dataQualityAssertions"]["assertions"])
        for e in events
        for o in e.get("outputs", [])
        if "dataQualityAssertions" in o.get("outputFacets", {})
    ]
    assert [kind for kind, _ in checked] == ["COMPLETE", "FAIL"]
    complete, fail = (dict((a["assertion"], a["success"]) for a in found) for _, found in checked)
    assert complete == {"id_present": False, "qty_positive": True, "unique": True, "min_rows": True}
    assert fail["qty_positive"] is False
    assert {"assertion": "unique", "success": True, "column": "order_id"} in checked[0][1]
    facet = next(
        o for e in events for o in e.get("outputs", []) if "dataQualityAssertions" in o.get("outputFacets", {})
    )
    client = _client_facets(facet["outputFacets"])["dataQualityAssertions"]
    assert [(a.assertion, a.success) for a in client.assertions][0] == ("id_present", False)


PIPE = """\
steps:
  - notebook: clean
    args: {bad: "${bad}"}
    lazy: true
    outputs:
      - name: Orders
        expect: {id_present: id IS NOT NULL}
        expect_or_fail: {qty_positive: qty > 0}
        expect_table: {unique: order_id, min_rows: 1}
  - notebook: report
    inputs: [Orders]
    outputs: [Report]
params: {bad: "0"}
"""


def test_a_pipeline_file_declares_expectations_under_an_output(ws, decisions):
    from dtflw.errors import DagFailedError, PipelineFileError

    (ws.root / "p/pipe.yml").write_text(PIPE)
    ws.run("p/pipe.yml")
    _, results = _results(decisions)
    assert results["id_present"].failed == 1 and results["unique"].expression == "unique(order_id)"
    decisions.take()
    with pytest.raises(NotebookFailedError) as caught:
        ws.run("p/pipe.yml", {"bad": "3"})
    dag_failure = caught.value.__cause__
    assert isinstance(dag_failure, DagFailedError) and "report" in dag_failure.not_run
    assert isinstance(dag_failure.failures["clean"], ExpectationFailedError)
    assert "3 of 10 rows failed" in str(dag_failure)
    (ws.root / "p/bad.yml").write_text(PIPE.replace("min_rows: 1", "min_rows: -1"))
    with pytest.raises(PipelineFileError, match=r"bad.yml:9: steps\[0\].outputs\[0\].expect_table.min_rows"):
        ws.run("p/bad.yml")


def test_dtflw_run_warns_and_dtflw_check_evaluates_the_tables_there_now_without_running(ws, spark):
    from click.testing import CliRunner

    from dtflw.cli import main

    def invoke(command, *extra):
        arguments = [command, str(ws.root / "p/main.py"), "--storage", str(ws.storage_folder)]
        arguments += ["--dbfs-root", str(ws.dbfs_folder), "--user", "tester@example.com", *extra]
        return CliRunner().invoke(main, arguments, catch_exceptions=False)

    ran = invoke("run")
    assert ran.exit_code == 0, ran.output
    assert "⚠ expectation Orders.id_present (id IS NOT NULL, warn): 1 of 10 rows failed" in ran.stderr

    planned = invoke("plan").stdout
    assert "  expect Orders.qty_positive: qty > 0 (fail)" in planned
    assert "  expect Orders.unique: unique(order_id) (fail)" in planned
    assert "  fresh  Orders within 30d" in planned

    orders = ws.storage_folder / "p/clean/Orders.parquet"
    stamp = sorted(p.stat().st_mtime_ns for p in orders.iterdir())
    checked = invoke("check")
    assert checked.exit_code == 0, checked.output
    assert "⚠ Orders.id_present (id IS NOT NULL, warn): 1 of 10 rows failed" in checked.stdout
    assert "✔ Orders.qty_positive (qty > 0, fail): 10 rows passed" in checked.stdout
    assert sorted(p.stat().st_mtime_ns for p in orders.iterdir()) == stamp  # no notebook ran

    rows = [(1, 1, -1), (1, 2, 5)]  # a manual change breaks it: a duplicate key and a negative qty
    spark.createDataFrame(rows, "order_id int, id int, qty int").write.mode("overwrite").parquet(str(orders))
    checked = invoke("check")
    assert checked.exit_code == 1
    assert "✖ Orders.qty_positive (qty > 0, fail): 1 of 2 rows failed" in checked.stdout
    assert "✖ Orders.unique (unique(order_id), fail): 1 duplicate row(s) of 2" in checked.stdout

    ws.write("p/main.py", MAIN.replace("qty > 0", "qtyy > 0"))
    checked = invoke("check")
    assert checked.exit_code == 1 and "✖ Expectation 'qty_positive' (qtyy > 0) of output 'Orders'" in checked.stdout

    import shutil

    shutil.rmtree(orders)
    checked = invoke("check")
    assert checked.exit_code == 1 and "✖ Orders: no complete table at" in checked.stdout


def test_a_jobs_export_checks_expectations_in_a_task_of_their_own_and_refuses_a_ratio_to_the_previous(ws):
    from dtflw.deploy.tasks import planned_tasks
    from dtflw.errors import ExpectationsNotExportableError

    tasks = planned_tasks(ws.local, str(ws.root / "p/main.py"))
    assert [(t.key, t.kind, t.depends_on) for t in tasks] == [
        ("clean", "notebook", []),
        ("clean_check", "check", ["clean"]),
        ("report", "notebook", ["clean_check"]),
    ]
    ws.write("p/main.py", MAIN.replace('"min_rows": 1', '"min_ratio_to_previous": 0.9'))
    with pytest.raises(ExpectationsNotExportableError) as caught:
        planned_tasks(ws.local, str(ws.root / "p/main.py"))
    assert "Notebook 'clean' declares Orders.min_ratio_to_previous" in str(caught.value)
    assert "min_rows" in str(caught.value)


def test_a_stale_input_fails_the_step_before_its_notebook_runs(ws, decisions, spark):
    import os
    import time

    raw = ws.storage_folder / "raw/orders.parquet"
    spark.createDataFrame([(1, 1, 1)], "order_id int, id int, qty int").write.parquet(str(raw))
    day_ago = time.time() - 86400
    for file in raw.rglob("*"):
        os.utime(file, (day_ago, day_ago))
    main = 'from dtflw import init_flow\ninit_flow().notebook("report").input("Orders", file_path="raw/orders.parquet", max_age="{}").output("Report").run()'
    ws.write("p/main.py", main.format("12h"))
    with pytest.raises(NotebookFailedError, match=r"Input 'Orders' .* is stale: last written 24h ago, older than 12h"):
        ws.run("p/main.py")
    run, results = _results(decisions, "report")
    assert run.status.value == "failed" and results["max_age"].failed == 1
    assert not (ws.storage_folder / "p/report/Report.parquet").exists()  # the notebook never ran
    ws.write("p/main.py", main.format("2d"))
    ws.run("p/main.py")
    run, results = _results(decisions, "report")
    assert run.status.value == "succeeded" and results["max_age"].ok
    assert results["max_age"].detail == "last written 24h ago"


def test_max_age_is_checked_where_it_is_declared(runtime_at, tmp_path):
    import datetime

    from dtflw import init_flow

    with runtime_at():
        flow = init_flow(FolderStorage(str(tmp_path / "store")))
        step = flow.notebook("clean").input("A", file_path="a", max_age=datetime.timedelta(hours=2))
        assert step.get_inputs()["A"].max_age == 7200
        assert flow.notebook("clean").input("A", file_path="a", max_age=90).get_inputs()["A"].max_age == 90
        with pytest.raises(ExpectationError, match="max_age of input 'A' of notebook 'clean'"):
            flow.notebook("clean").input("A", file_path="a", max_age="soon")


def test_failing_rows_in_the_error_and_lineage_never_show_a_secret(ws, decisions):
    ws.write(
        "p/leak.py",
        'from dtflw import init_args, init_outputs\ntoken = init_args("token")["token"].value\n'
        'spark.createDataFrame([(token, -1)], "note string, qty int").write.mode("overwrite")'
        '.parquet(init_outputs("Orders")["Orders"].value)',
    )
    ws.write(
        "p/main.py",
        'from dtflw import init_flow\ninit_flow().notebook("leak").args({"token": "tok-5ecret-value"}, secret=["token"])'
        '.output("Orders", expect_or_fail={"qty_positive": "qty > 0"}).run()',
    )
    with pytest.raises(NotebookFailedError) as caught:
        ws.run("p/main.py")
    assert "failing row: {'note': '[REDACTED]', 'qty': '-1'}" in str(caught.value)
    recorded = "".join(p.read_text() for p in (ws.storage_folder / "_dtflw").rglob("*.json"))
    assert "qty_positive" in recorded and "tok-5ecret-value" not in recorded


def test_the_scan_counts_table_rules_and_names_what_is_wrong(spark):
    from dtflw.expectations import declare
    from dtflw.expectations.scan import evaluate

    df = spark.createDataFrame([(1, "a"), (1, None), (2, "b")], "k int, v string")
    rules = declare("nb", "T", {"v_set": "v IS NOT NULL"}, None, {"max_rows": 2, "unique": ["k", "v"]})
    found = {r.name: r for r in evaluate(df, "nb", "T", rules)}
    assert (found["v_set"].failed, found["max_rows"].failed, found["unique"].failed) == (1, 1, 0)
    assert found["max_rows"].detail == "3 rows, more than 2"
    with pytest.raises(ExpectationError, match=r"'unique' of output 'T' of notebook 'nb' names column\(s\) \['x'\]"):
        evaluate(df, "nb", "T", declare("nb", "T", expect_table={"unique": "x"}))
    with pytest.raises(ExpectationError, match=r"Expectation 'n' \(k \+ 1\) .* is int, not boolean"):
        evaluate(df, "nb", "T", declare("nb", "T", {"n": "k + 1"}))


def test_a_lineage_document_with_malformed_expectations_is_reported_not_trusted(ws, decisions):
    import json

    ws.run("p/main.py")
    (document,) = (ws.storage_folder / "_dtflw/runs").glob("*.json")
    doc = json.loads(document.read_text())
    doc["notebook_runs"][0]["expectations"][0]["failed"] = "many"
    document.write_text(json.dumps(doc))
    graph = LineageGraph.load(FolderStorage(str(ws.storage_folder)))
    assert graph.runs == {} and "notebook_runs.0.expectations.0.failed" in graph.problems[0]


@pytest.mark.chromium
@pytest.mark.slow
def test_the_html_report_outlines_a_table_that_failed_an_expectation(ws, decisions, tmp_path):
    import re

    from lineage.chromium import dump_dom, find_chromium, page_url

    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed")
    ws.run("p/main.py")
    report = tmp_path / "lineage.html"
    LineageGraph.load(FolderStorage(str(ws.storage_folder))).export("html", str(report))
    dom, _ = dump_dom(page_url(str(report)))
    assert re.findall(r'data-key="[^"]*/Orders.parquet"[^>]*data-quality="(\w+)"', dom) == ["warned"]
    with pytest.raises(NotebookFailedError):
        ws.run("p/main.py", {"bad": "2"})
    LineageGraph.load(FolderStorage(str(ws.storage_folder))).export("html", str(report))
    dom, _ = dump_dom(page_url(str(report)))
    assert re.findall(r'data-key="[^"]*/Orders.parquet"[^>]*data-quality="(\w+)"', dom) == ["failed"]
    assert len(re.findall(r"data-quality=", dom)) == 1  # Report passed nothing: no mark


def test_a_failed_blocking_expectation_is_not_retried(ws, decisions, tmp_path):
    log = tmp_path / "ran.log"
    ws.write("p/clean.py", CLEAN + f"\nopen({str(log)!r}, 'a').write('ran\\n')")
    ws.write("p/main.py", MAIN.replace(".run(is_lazy=True)", ".retries(2, backoff=0).run()", 1))
    with pytest.raises(NotebookFailedError, match="qty_positive"):
        ws.run("p/main.py", {"bad": "1"})
    assert log.read_text() == "ran\n"


def test_a_delta_output_is_checked_and_compared_with_the_version_it_replaced(ws, decisions):
    ws.write(
        "p/clean.py",
        'from dtflw import init_args, init_outputs\nn = int(init_args({"n": "10"})["n"].value)\n'
        'spark.range(n).selectExpr("id AS order_id", "id + 1 AS qty").write.format("delta").mode("overwrite")'
        '.save(init_outputs("Orders")["Orders"].value)',
    )
    ws.write(
        "p/main.py",
        'from dtflw import init_flow, init_args\nn = init_args({"n": "10"})["n"].value\n'
        'init_flow().notebook("clean").args({"n": n}).output("Orders", format="delta", '
        'expect_or_fail={"qty_positive": "qty > 0"}, expect_table={"min_ratio_to_previous": 0.9}).run()',
    )
    ws.run("p/main.py", {"n": "10"})
    ws.run("p/main.py", {"n": "12"})
    _, results = _results(decisions)
    assert results["qty_positive"].passed == 12 and results["min_ratio_to_previous"].ok
    with pytest.raises(
        NotebookFailedError, match=r"Orders.min_ratio_to_previous .*: 5 rows, previous 12 \(needs >= 11\)"
    ):
        ws.run("p/main.py", {"n": "5"})
    _, results = _results(decisions)
    assert results["min_ratio_to_previous"].detail == "5 rows, previous 12 (needs >= 11)"
    assert (ws.storage_folder / "p/clean/Orders.delta/_delta_log").is_dir()
