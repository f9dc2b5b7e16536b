"""Tests of the example pipeline with dtflw's pytest plugin — the README's example, complete.

The plugin comes with dtflw (`pip install "dtflw[local]" pytest chispa`): its `dtflw` fixture runs
notebooks of the folder pytest runs from (`dtflw_workspace_root` in the pytest ini changes it) on a
throwaway storage and DBFS root. Run these tests:

    pytest notebooks/tests                                  # locally, on Sail (the default)
    pytest notebooks/tests --dtflw-engine spark             # on classic JVM Spark (no Delta there)
    pytest notebooks/tests --dtflw-engine databricks --dtflw-profile DEV --dtflw-cluster-id 0123-…
                                                            # unchanged, on Databricks compute
"""

import datetime
import pathlib

import pytest

from dtflw.testing import assert_table_equal

SAMPLE = pathlib.Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture
def raw_files(dtflw):
    """The sample CSVs, where `main` reads them: `<storage>/raw/*.csv`."""
    dtflw.put(SAMPLE, "raw")


def test_the_whole_pipeline_reports_the_kpis_of_a_year(dtflw, raw_files):
    result = dtflw.run_flow("notebooks/main.py", args={"year": 2024})

    assert result.json["year"] == "2024"
    kpis = {row.metric: (row.value, row.detail) for row in result.table("KpiReport").collect()}
    assert kpis["total_revenue"] == (3874.65, "2024")
    assert kpis["top_product_revenue"] == (1547.92, "Espresso Beans 1kg")
    assert_table_equal(
        result.table("RegionRevenue"),
        [
            ("South", 3, 11, 1412.14),
            ("North", 6, 10, 1343.91),
            ("East", 3, 6, 633.89),
            ("West", 2, 4, 399.66),
            ("Unknown", 1, 1, 85.05),
        ],
    )
    # the lineage dtflw recorded: which notebook wrote a table, from what
    producer = result.lineage.latest_producer("KpiReport")
    assert producer.notebook_path.endswith("/notebooks/gold/kpi_report")
    assert {use.name for use in producer.inputs} == {"ProductRevenue", "RegionRevenue", "ShippingDelays"}


def test_the_pipeline_file_writes_the_same_kpis(dtflw, raw_files):
    result = dtflw.run_flow("notebooks/pipeline.yml", args={"year": 2024})  # main.py's steps, as YAML

    kpis = {row.metric: (row.value, row.detail) for row in result.table("KpiReport").collect()}
    assert kpis["total_revenue"] == (3874.65, "2024")
    assert set(result.json["tables"]) >= {"SalesLines", "KpiReport", "CustomerSegments"}


def test_build_sales_cleans_and_joins_the_orders_of_one_year(dtflw):
    spark, day = dtflw.spark, datetime.date
    orders = spark.createDataFrame(
        [
            (1, 10, day(2024, 3, 1), day(2024, 3, 5), day(2024, 3, 4), " Shipped "),
            (1, 10, day(2024, 3, 1), day(2024, 3, 5), day(2024, 3, 4), "SHIPPED"),  # a duplicate order
            (2, 99, day(2024, 4, 1), day(2024, 4, 5), None, "open"),  # a customer we do not know
            (3, 10, day(2023, 12, 31), day(2024, 1, 5), None, "open"),  # another year
            (4, 10, day(2024, 5, 1), day(2024, 5, 5), None, "Cancelled"),
        ],
        "order_id int, customer_id int, order_date date, required_date date, shipped_date date, status string",
    )
    order_items = spark.createDataFrame(
        [(1, 1, 100, 3, 2.5, 10), (1, 2, 100, 0, 2.5, None), (2, 1, 100, 1, 9.99, None), (3, 1, 100, 1, 1.0, 0)],
        "order_id int, line_no int, product_id int, quantity int, unit_price double, discount_pct int",
    )
    customers = spark.createDataFrame(
        [(10, " Anna ", " south")], "customer_id int, customer_name string, region string"
    )
    products = spark.createDataFrame(
        [(100, "Tea ", "Beverages ")], "product_id int, product_name string, category string"
    )

    result = dtflw.run_notebook(
        "notebooks/silver/build_sales",
        args={"year": 2024},
        inputs={"Orders": orders, "OrderItems": order_items, "Customers": customers, "Products": products},
        outputs={"SalesOrderItems": "delta"},
    )

    assert result.json == {"year": 2024, "SalesOrderItems": 2, "orders": 2}
    assert_table_equal(
        result.table("SalesOrderItems").select(
            "order_id", "customer_name", "region", "product_name", "amount", "status"
        ),
        [(1, "Anna", "South", "Tea", 6.75, "shipped"), (2, None, "Unknown", "Tea", 9.99, "open")],
    )
    assert result.run.status == "succeeded"
