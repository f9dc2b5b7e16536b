"""The local Unity Catalog on real Sail: one metastore for every notebook session of a run, kept in files."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest
from chispa import assert_df_equality
from testkit import notebook_source

from dtflw.engines.sail import SailEngine
from dtflw.errors import ManagedTableFormatError, TableSchemaMismatchError, UnityCatalogError
from dtflw.local.unity_catalog import LocalUnityCatalog
from dtflw.local.unity_store import UnityError, UnityStore
from dtflw.local.workspace import LocalSettings, LocalWorkspace


@pytest.fixture(scope="module")
def uc_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("uc")


@pytest.fixture(scope="module")
def uc_engine(uc_folder):
    engine = SailEngine()
    engine.uc_folder = str(uc_folder)
    engine.use_unity_catalog(LocalUnityCatalog(str(uc_folder / "metastore"), str(uc_folder / "volumes")))
    with engine:
        yield engine


def _workspace(tmp_path, engine):
    root = tmp_path / "ws"
    root.mkdir(parents=True)
    settings = LocalSettings(
        user="tester@example.com",
        storage_url="file://" + str(tmp_path / "storage"),
        unity_folder=engine.uc_folder + "/metastore",  # the module's metastore and volumes
        volumes_folder=engine.uc_folder + "/volumes",
    )
    return root, LocalWorkspace(str(root), engine, settings)


def test_a_table_saved_by_one_notebook_is_read_by_the_next(tmp_path, uc_engine):
    root, local = _workspace(tmp_path, uc_engine)
    (root / "write.py").write_text(
        notebook_source(
            "spark.createDataFrame([(1, 'a'), (2, 'b')], 'id int, v string')"
            ".write.mode('append').saveAsTable('main.default.shared_orders')"
        )
    )
    (root / "read.py").write_text(
        notebook_source(
            "dbutils.notebook.exit(str(sorted(r.v for r in spark.table('main.default.shared_orders').collect())))"
        )
    )
    local.run_file(str(root / "write.py"))
    assert local.run_file(str(root / "read.py")) == "['a', 'b']"


def test_the_catalog_persists_across_engines_and_keeps_delta_versions(uc_folder, uc_engine):
    first = uc_engine.new_session()
    first.range(3).write.saveAsTable("main.default.kept")
    first.range(3, 5).write.mode("append").saveAsTable("main.default.kept")
    table = UnityStore(str(uc_folder / "metastore"), str(uc_folder / "volumes")).get_table("main.default.kept")
    assert (table["table_type"], table["data_source_format"]) == ("MANAGED", "DELTA")  # Delta by default
    log = os.path.join(table["storage_location"][len("file://") :], "_delta_log")
    assert sorted(n for n in os.listdir(log) if n.endswith(".json")) == [
        f"{v:020d}.json" for v in range(3)
    ]  # create, insert, append
    with SailEngine() as later:  # a new process would see the same: the metastore is in files
        later.use_unity_catalog(LocalUnityCatalog(str(uc_folder / "metastore"), str(uc_folder / "volumes")))
        session = later.new_session()
        assert_df_equality(session.table("main.default.kept"), first.range(5), ignore_row_order=True)
        assert session.read.option("versionAsOf", 1).table("main.default.kept").count() == 3


def test_main_default_and_the_legacy_metastore_exist_from_the_start(uc_engine):
    session = uc_engine.new_session()
    assert (session.catalog.currentCatalog(), session.catalog.currentDatabase()) == ("main", "default")
    session.range(2).write.saveAsTable("spark_catalog.default.legacy")
    assert session.table("hive_metastore.default.legacy").count() == 2
    session.sql("CREATE SCHEMA main.sales")
    session.range(1).write.saveAsTable("main.sales.t")
    tables = session.sql("SHOW TABLES IN main.sales").collect()
    assert [r.tableName for r in tables] == ["t"]
    session.sql("DROP TABLE main.sales.t")
    assert session.sql("SHOW TABLES IN main.sales").collect() == []


def test_overwrite_and_replace_act_as_on_databricks(uc_engine):
    session = uc_engine.new_session()
    df = session.createDataFrame([(1, "a"), (2, None)], "id int, v string")  # nullable columns
    df.write.saveAsTable("main.default.over")
    session.createDataFrame([("c", 3)], "v string, id int").write.mode("overwrite").saveAsTable("main.default.over")
    assert [tuple(r) for r in session.table("main.default.over").collect()] == [(3, "c")]  # matched by name
    assert session.read.option("versionAsOf", 1).table("main.default.over").count() == 2  # history kept
    with pytest.raises(TableSchemaMismatchError, match="main.default.over.*overwriteSchema"):
        session.range(1).write.mode("overwrite").saveAsTable("main.default.over")
    session.range(4).write.mode("overwrite").option("overwriteSchema", "true").saveAsTable("main.default.over")
    assert session.table("main.default.over").columns == ["id"]
    session.range(2).writeTo("main.default.over").createOrReplace()
    assert session.table("main.default.over").count() == 2
    session.range(1).write.mode("ignore").saveAsTable("main.default.over")
    assert session.table("main.default.over").count() == 2


def test_partition_by_takes_one_column_name_or_a_list_of_them(uc_folder, uc_engine):
    session = uc_engine.new_session()
    df = session.createDataFrame([(1, "nl")], "id int, country string")
    df.write.saveAsTable("main.default.by_name", partitionBy="country")
    df.write.saveAsTable("main.default.by_list", partitionBy=["country"])
    store = UnityStore(str(uc_folder / "metastore"), str(uc_folder / "volumes"))
    for name in ("by_name", "by_list"):
        log = os.path.join(store.get_table(f"main.default.{name}")["storage_location"][len("file://") :], "_delta_log")
        with open(os.path.join(log, f"{0:020d}.json")) as f:
            metadata = next(json.loads(line)["metaData"] for line in f if '"metaData"' in line)
        assert metadata["partitionColumns"] == ["country"], name


def test_a_managed_table_must_be_delta_and_its_schema_must_exist(uc_engine):
    session = uc_engine.new_session()
    with pytest.raises(ManagedTableFormatError, match="main.default.not_delta"):
        session.range(2).write.format("parquet").saveAsTable("main.default.not_delta")
    with pytest.raises(Exception, match="400"):  # SQL reaches the catalog, which refuses it too
        session.sql("CREATE TABLE main.default.not_delta (id INT) USING parquet")
    with pytest.raises(Exception, match="(?i)schema not found"):
        session.range(1).write.saveAsTable("main.nowhere.t")


def test_the_store_refuses_bad_names_conflicts_and_non_empty_schemas(tmp_path):
    store = UnityStore(str(tmp_path / "m"), str(tmp_path / "v"))
    with pytest.raises(UnityError, match="Invalid schema name"):
        store.create_schema("main", "a.b")
    store.create_schema("main", "Sales")
    with pytest.raises(UnityError) as conflict:
        store.create_schema("main", "sales")  # names compare lower-cased
    assert conflict.value.status == 409
    volume = store.create_volume("main", "sales", "raw")
    assert os.path.isdir(tmp_path / "v" / "main" / "sales" / "raw")
    assert volume["storage_location"] == "file://" + str(tmp_path / "v" / "main" / "sales" / "raw")
    with pytest.raises(UnityError, match="not empty"):
        store.delete_schema("main.sales")
    store.delete_schema("main.sales", force=True)
    assert not os.path.exists(tmp_path / "v" / "main" / "sales" / "raw")
    with pytest.raises(UnityError) as missing:
        store.get_catalog("nope")
    assert missing.value.status == 404


def test_a_corrupt_metastore_file_is_named_not_trusted(tmp_path):
    store = UnityStore(str(tmp_path / "m"), str(tmp_path / "v"))
    store.create_schema("main", "s")
    corrupt = tmp_path / "m" / "metastore" / "main" / "s" / "_schema.json"
    corrupt.write_text('{"name": ')
    assert [s["name"] for s in store.list_schemas("main")] == ["default"]
    with pytest.raises(UnityError, match="corrupt") as error:
        store.get_schema("main.s")
    assert str(corrupt) in error.value.message


def test_a_delta_commit_is_ratified_once(tmp_path):
    store = UnityStore(str(tmp_path / "m"), str(tmp_path / "v"))
    table = tmp_path / "t"
    (table / "_delta_log" / "_staged_commits").mkdir(parents=True)
    (table / "_delta_log" / f"{0:020d}.json").write_text("{}\n")
    for name in ("1.a.json", "1.b.json"):
        (table / "_delta_log" / "_staged_commits" / name).write_text('{"commitInfo": {}}\n')
    commit = {"table_id": "x", "table_uri": "file://" + str(table)}
    store.commit({**commit, "commit_info": {"version": 1, "file_name": "1.a.json"}})
    with pytest.raises(UnityError) as second:  # a writer that lost the race must retry, not overwrite
        store.commit({**commit, "commit_info": {"version": 1, "file_name": "1.b.json"}})
    assert second.value.status == 409
    assert (table / "_delta_log" / f"{1:020d}.json").read_text() == '{"commitInfo": {}}\n'
    assert store.commits(commit) == {"commits": [], "latest_table_version": 1}


def test_the_rest_server_answers_errors_in_the_api_shape(tmp_path):
    catalog = LocalUnityCatalog(str(tmp_path / "m"), str(tmp_path / "v"))
    try:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(catalog.url + "/tables/main.default.nope")
        assert missing.value.code == 404
        assert json.loads(missing.value.read())["error_code"] == "NOT_FOUND"
        with urllib.request.urlopen(catalog.url + "/catalogs") as answer:
            assert sorted(c["name"] for c in json.loads(answer.read())["catalogs"]) == ["hive_metastore", "main"]
    finally:
        catalog.stop()


def _flow_workspace(tmp_path, engine, marker):
    root, local = _workspace(tmp_path, engine)
    (root / "produce.py").write_text(
        notebook_source(
            "from dtflw import init_outputs\n"
            "name = init_outputs('Orders')['Orders'].value\n"
            "spark.createDataFrame([(1, 10.0), (2, 5.0)], 'id int, amount double')"
            ".write.mode('overwrite').saveAsTable(name)\n"
            "dbutils.notebook.exit(name)"
        )
    )
    (root / "consume.py").write_text(
        notebook_source(
            "from dtflw import init_inputs, init_outputs\n"
            f"open({str(marker)!r}, 'a').write('ran\\n')\n"
            "orders = spark.table(init_inputs('Orders')['Orders'].value)\n"
            "orders.groupBy().sum('amount').withColumnRenamed('sum(amount)', 'total')"
            ".write.mode('overwrite').saveAsTable(init_outputs('Total')['Total'].value)"
        )
    )
    (root / "main.py").write_text(
        notebook_source(
            "from dtflw import init_flow\n"
            "flow = init_flow()\n"
            "out = flow.notebook('produce').output('Orders', table='main.default.orders', cols=[('id', 'int')]).run(is_lazy=True)\n"
            "flow.notebook('consume').input('Orders').output('Total', table='main.default.total').run(is_lazy=True)\n"
            "dbutils.notebook.exit(out + ' ' + flow['Total'])"
        )
    )
    return root, local


def test_flow_outputs_and_inputs_by_unity_catalog_name(tmp_path, uc_engine):
    marker = tmp_path / "runs.txt"
    root, local = _flow_workspace(tmp_path, uc_engine, marker)
    assert local.run_file(str(root / "main.py")) == "main.default.orders main.default.total"
    session = uc_engine.new_session()
    assert [r.total for r in session.table("main.default.total").collect()] == [15.0]
    local.run_file(str(root / "main.py"))
    assert marker.read_text() == "ran\n"  # the lazy re-run skipped: same table, same Delta version
    session.sql("DROP TABLE main.default.orders")
    session.createDataFrame([(1, 10.0), (2, 5.0)], "id int, amount double").write.saveAsTable("main.default.orders")
    local.run_file(str(root / "main.py"))
    assert marker.read_text() == "ran\nran\n"  # its input was dropped and created again: a new table, so it runs


def test_a_missing_or_malformed_catalog_table_is_named_before_the_notebook_runs(tmp_path, uc_engine):
    root, local = _workspace(tmp_path, uc_engine)
    (root / "callee.py").write_text(notebook_source("raise RuntimeError('must not run')"))
    (root / "missing.py").write_text(
        notebook_source(
            "from dtflw import init_flow\n"
            "init_flow().notebook('callee').input('T', table='main.default.never_written').run()"
        )
    )
    with pytest.raises(Exception, match="(?s)InputNotFoundError.*main.default.never_written") as missing:
        local.run_file(str(root / "missing.py"))
    assert "must not run" not in str(missing.value)
    (root / "malformed.py").write_text(
        notebook_source("from dtflw import init_flow\ninit_flow().notebook('callee').output('T', table='default.t')")
    )
    with pytest.raises(Exception, match="UnityCatalogError.*'default.t'.*<catalog>.<schema>.<table>"):
        local.run_file(str(root / "malformed.py"))


def _call(url, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def test_catalogs_schemas_and_volumes_through_the_rest_api(tmp_path):
    catalog = LocalUnityCatalog(str(tmp_path / "m"), str(tmp_path / "v"))
    try:
        api = catalog.url
        _call(api + "/catalogs", "POST", {"name": "sales"})
        _call(api + "/schemas", "POST", {"catalog_name": "sales", "name": "raw"})
        _call(api + "/volumes", "POST", {"catalog_name": "sales", "schema_name": "raw", "name": "files"})
        assert (tmp_path / "v" / "sales" / "raw" / "files").is_dir()
        listed = _call(api + "/volumes?catalog_name=sales&schema_name=raw")["volumes"]
        assert [v["full_name"] for v in listed] == ["sales.raw.files"]
        assert _call(api + "/volumes/sales.raw.files")["volume_type"] == "MANAGED"
        assert "sales" in catalog.sail_environment()["SAIL_CATALOG__LIST"]
        with pytest.raises(urllib.error.HTTPError) as not_empty:
            _call(api + "/catalogs/sales", "DELETE")
        assert not_empty.value.code == 400
        _call(api + "/volumes/sales.raw.files", "DELETE")
        _call(api + "/schemas/sales.raw", "DELETE")
        _call(api + "/catalogs/sales", "DELETE")
        assert [c["name"] for c in _call(api + "/catalogs")["catalogs"]] == ["hive_metastore", "main"]
        with pytest.raises(urllib.error.HTTPError) as unknown:
            _call(api + "/models")
        assert unknown.value.code == 501
    finally:
        catalog.stop()


def test_catalog_volume_and_history_statements_sail_does_not_parse(uc_folder, uc_engine):
    session = uc_engine.new_session()
    session.sql("CREATE CATALOG IF NOT EXISTS lake COMMENT 'raw data'")
    session.sql("CREATE CATALOG IF NOT EXISTS lake")
    assert "lake" in [r.catalog for r in session.sql("SHOW CATALOGS").collect()]
    session.sql("CREATE SCHEMA lake.bronze")
    session.range(2).write.saveAsTable("lake.bronze.events")  # a new catalog: three-part names work at once
    assert session.table("lake.bronze.events").count() == 2
    session.sql("CREATE VOLUME lake.bronze.landing")
    assert (uc_folder / "volumes" / "lake" / "bronze" / "landing").is_dir()
    assert [tuple(r) for r in session.sql("SHOW VOLUMES IN lake.bronze").collect()] == [("bronze", "landing")]
    session.range(5).write.mode("overwrite").saveAsTable("lake.bronze.events")
    history = session.sql("DESCRIBE HISTORY lake.bronze.events").collect()
    assert [r.version for r in history] == [2, 1, 0]
    assert [r.version for r in session.sql("DESCRIBE HISTORY lake.bronze.events LIMIT 1").collect()] == [2]
    with pytest.raises(UnityCatalogError, match="DROP CATALOG lake.*not empty"):
        session.sql("DROP CATALOG lake")
    session.sql("DROP VOLUME lake.bronze.landing")
    assert not (uc_folder / "volumes" / "lake" / "bronze" / "landing").exists()
    session.sql("DROP CATALOG lake CASCADE")
    session.sql("DROP CATALOG IF EXISTS lake")
    with pytest.raises(UnityCatalogError, match="does not exist"):
        session.sql("CREATE VOLUME lake.bronze.x")


def test_each_workspace_on_one_engine_sees_its_own_metastore(tmp_path, uc_folder, uc_engine):
    first = LocalWorkspace(str(tmp_path), uc_engine, LocalSettings(unity_folder=str(tmp_path / "a")))
    first.unity_catalog.store.create_schema("main", "only_in_a")
    assert uc_engine.new_session().sql("SHOW SCHEMAS IN main").filter("name like '%only_in_a'").count() == 1
    LocalWorkspace(str(tmp_path), uc_engine, LocalSettings(unity_folder=str(tmp_path / "b")))
    assert uc_engine.new_session().sql("SHOW SCHEMAS IN main").filter("name like '%only_in_a'").count() == 0
    _workspace(tmp_path / "back", uc_engine)  # the module's metastore again


def test_a_unity_catalog_storage_writes_outputs_as_tables_of_its_schema(tmp_path, uc_folder, uc_engine):
    root, local = _workspace(tmp_path, uc_engine)
    session = uc_engine.new_session()
    session.sql("CREATE SCHEMA IF NOT EXISTS main.retail")
    session.sql("CREATE VOLUME IF NOT EXISTS main.retail.raw")
    raw = uc_folder / "volumes" / "main" / "retail" / "raw"
    session.createDataFrame([(1, 3.0), (2, 4.0)], "id int, amount double").write.mode("overwrite").parquet(
        str(raw / "orders.parquet")
    )
    (root / "ingest.py").write_text(
        notebook_source(
            "from dtflw import init_inputs, init_outputs\n"
            "path, name = init_inputs('Raw')['Raw'].value, init_outputs('Sales-Lines')['Sales-Lines'].value\n"
            "spark.read.parquet(path).write.saveAsTable(name)\n"
            "dbutils.notebook.exit(path + ' ' + name)"
        )
    )
    (root / "main.py").write_text(
        notebook_source(
            "from dtflw import init_flow\n"
            "flow = init_flow('uc://main.retail/raw')\n"
            "out = flow.notebook('ingest').input('Raw', file_path='orders.parquet').output('Sales-Lines').run()\n"
            "dbutils.notebook.exit(out)"
        )
    )
    path, name = local.run_file(str(root / "main.py")).split()
    assert (path, name) == (str(raw / "orders.parquet"), "main.retail.sales_lines")  # locally, the volume's folder
    assert session.table("main.retail.sales_lines").count() == 2
    assert (raw / "_dtflw").is_dir()  # dtflw's state and lineage live in the volume


def test_a_unity_catalog_storage_url_must_name_an_existing_schema_and_volume(tmp_path, uc_engine):
    root, local = _workspace(tmp_path, uc_engine)
    for url, problem in [
        ("uc://main", "names no Unity Catalog schema"),
        ("uc://main.nowhere", "schema main.nowhere does not exist; run CREATE SCHEMA main.nowhere"),
        ("uc://nocat.x", "CREATE CATALOG nocat"),
        ("uc://main.default/novolume", "CREATE VOLUME main.default.novolume"),
    ]:
        (root / "main.py").write_text(notebook_source(f"from dtflw import init_flow\ninit_flow({url!r})"))
        with pytest.raises(Exception, match=f"UnityCatalogError.*{problem}"):
            local.run_file(str(root / "main.py"))


def test_a_pipeline_file_reads_and_writes_unity_catalog_tables(tmp_path, uc_engine):
    from dtflw.errors import PipelineFileError
    from dtflw.pipeline_files.loading import load_pipeline

    root, local = _workspace(tmp_path, uc_engine)
    uc_engine.new_session().createDataFrame([(1,), (2,)], "id int").write.mode("overwrite").saveAsTable(
        "main.default.pf_in"
    )
    (root / "copy.py").write_text(
        notebook_source(
            "from dtflw import init_inputs, init_outputs\n"
            "spark.table(init_inputs('In')['In'].value).write.mode('overwrite').saveAsTable(init_outputs('Out')['Out'].value)"
        )
    )
    (root / "p.yml").write_text(
        "steps:\n"
        "  - notebook: copy\n"
        "    inputs: [{name: In, table: main.default.pf_in}]\n"
        "    outputs: [{name: Out, table: main.default.pf_out, cols: [[id, int]]}]\n"
    )
    result = json.loads(local.run_file(str(root / "p.yml")))
    assert uc_engine.new_session().table("main.default.pf_out").count() == 2
    assert result["tables"] == {"Out": "main.default.pf_out"}  # the three-part name, as the callee got it
    (root / "bad.yml").write_text("steps:\n  - notebook: copy\n    outputs: [{name: Out, table: default.t}]\n")
    with pytest.raises(PipelineFileError, match="table"):
        load_pipeline(str(root / "bad.yml"))


def test_create_or_replace_table_replaces_managed_and_external_tables(tmp_path, uc_engine):
    session = uc_engine.new_session()
    for rows in (2, 3):
        session.sql(f"CREATE OR REPLACE TABLE main.default.rep USING delta AS SELECT id FROM range({rows})")
        assert session.table("main.default.rep").count() == rows
    location = tmp_path / "ext.delta"
    for rows in (2, 3):
        session.sql(
            f"CREATE OR REPLACE TABLE ext_rep USING delta LOCATION '{location}' AS SELECT id FROM range({rows})"
        )
    assert session.table("main.default.ext_rep").count() == 3


def test_catalog_tables_are_named_per_the_openlineage_naming_spec_and_refuse_parquet(tmp_path, uc_engine):
    from dtflw.lineage.export_openlineage import dataset_name

    assert dataset_name("uc:main.sales.orders") == ("unitycatalog://localhost", "main.sales.orders")
    assert dataset_name("uc:main.sales.orders", "adb-1.azuredatabricks.net") == (
        "unitycatalog://adb-1.azuredatabricks.net",
        "main.sales.orders",
    )
    root, local = _workspace(tmp_path, uc_engine)
    (root / "main.py").write_text(
        notebook_source(
            "from dtflw import init_flow\n"
            "init_flow().notebook('x').output('T', table='main.default.t', format='parquet')"
        )
    )
    with pytest.raises(Exception, match="ManagedTableFormatError.*'main.default.t'.*Delta"):
        local.run_file(str(root / "main.py"))


def test_the_readme_unity_catalog_flow_runs_on_a_volume_with_tables_by_name(tmp_path, uc_engine):
    root, local = _workspace(tmp_path, uc_engine)
    (root / "analysis").mkdir()
    notebooks = {
        "ingest_data.py": "from dtflw import init_inputs, init_outputs\n"
        "orders = spark.read.option('header', True).option('inferSchema', True).csv(init_inputs('Orders')['Orders'].value)\n"
        "orders.write.mode('overwrite').saveAsTable(init_outputs('Orders')['Orders'].value)",
        "import_data.py": "from dtflw import init_inputs, init_outputs\n"
        "orders = spark.table(init_inputs('Orders')['Orders'].value)\n"
        "orders.where('qty > 0').write.mode('overwrite').saveAsTable(init_outputs('SalesLines')['SalesLines'].value)",
        "analysis/main.py": "from dtflw import init_args, init_inputs\n"
        "year = init_args('year')['year'].value\n"
        "dbutils.notebook.exit(f\"{year}: {spark.table(init_inputs('SalesLines')['SalesLines'].value).count()}\")",
        "main.py": "spark.sql('CREATE SCHEMA IF NOT EXISTS main.sales')\n"
        "spark.sql('CREATE VOLUME IF NOT EXISTS main.sales.landing')\n"
        "dbutils.fs.put('/Volumes/main/sales/landing/raw/orders.csv', 'id,qty\\n1,3\\n2,0\\n3,5\\n', True)\n"
        "from dtflw import init_flow\n"
        "flow = init_flow('/Volumes/main/sales/landing')\n"
        "flow.notebook('ingest_data').input('Orders', file_path='raw/orders.csv').output(\n"
        "    'Orders', table='main.sales.orders'\n"
        ").run(is_lazy=True)\n"
        "flow.notebook('import_data').input('Orders').output('SalesLines', table='main.sales.sales_lines').run()\n"
        "result = flow.notebook('analysis/main').args({'year': 2024}).input('SalesLines').run()\n"
        "dbutils.notebook.exit(result + ' ' + flow['SalesLines'])",
    }
    for name, source in notebooks.items():
        (root / name).write_text(notebook_source(source))
    assert local.run_file(str(root / "main.py")) == "2024: 2 main.sales.sales_lines"
    expected = uc_engine.new_session().createDataFrame([(1, 3), (3, 5)], "id long, qty long")
    actual = uc_engine.new_session().table("main.sales.sales_lines")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    landing = os.path.join(uc_engine.uc_folder, "volumes", "main", "sales", "landing")
    assert os.path.isfile(os.path.join(landing, "raw", "orders.csv"))  # the file input, in the volume
    assert os.path.isdir(os.path.join(landing, "_dtflw", "runs"))  # and dtflw's lineage beside it
