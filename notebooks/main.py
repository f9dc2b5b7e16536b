# Databricks notebook source
# MAGIC %md
# MAGIC # Retail pipeline: bronze → silver → gold
# MAGIC Orchestrates the example pipeline with dtflw. Arguments (widgets):
# MAGIC - `year` (default `2024`): the year of orders the silver and gold tables cover;
# MAGIC - `raw_dir` (default `raw`): the folder, relative to the flow's storage, holding `orders.csv`,
# MAGIC   `order_items.csv`, `customers.csv`, `products.csv` and, optionally, `customer_overrides.csv`.
# MAGIC
# MAGIC The steps form a DAG (`flow.dag`): dependencies follow from table names, and independent branches
# MAGIC (the three bronze ingests; the gold fan-out) run in parallel. Bronze notebooks run lazily (skipped
# MAGIC when up to date); the rest runs every time, unless the whole flow runs lazily (`dtflw run --lazy`).
# MAGIC The exit value is a JSON object with each notebook's summary and the paths of the gold tables.

# COMMAND ----------

import json

from dtflw import init_args, init_flow

args = init_args({"year": "2024", "raw_dir": "raw"})
year = args["year"].value
raw_dir = args["raw_dir"].value.rstrip("/")

flow = init_flow()

# COMMAND ----------

# MAGIC %md
# MAGIC A fresh checkout has no raw data on the flow's storage yet: start from the sample shipped beside this
# MAGIC notebook (`data/sample`; a notebook's folder is its working directory, on Databricks and locally).

# COMMAND ----------

import os

storage = flow.ctx.storage
if not storage.exists(f"{raw_dir}/orders.csv"):
    for name in sorted(os.listdir("data/sample")):
        with open(os.path.join("data/sample", name), encoding="utf-8") as sample:
            storage.write_text(f"{raw_dir}/{name}", sample.read())
    print(f"Copied the sample data (data/sample) to {storage.get_abs_path(raw_dir)}.")

# COMMAND ----------

# The steps form a DAG: dependencies follow from table names, independent branches run in parallel.
dag = flow.dag(workers=4)
steps = {}

# COMMAND ----------

# MAGIC %md
# MAGIC ## Bronze: raw CSV → parquet

# COMMAND ----------

steps["bronze/ingest_orders"] = dag.add(
    flow.notebook("bronze/ingest_orders")
    .input("Orders", file_path=f"{raw_dir}/orders.csv")
    .input("OrderItems", file_path=f"{raw_dir}/order_items.csv")
    .output("Orders")
    .output("OrderItems"),
    is_lazy=True,
)
steps["bronze/ingest_customers"] = dag.add(
    flow.notebook("bronze/ingest_customers")
    .input("Customers", file_path=f"{raw_dir}/customers.csv")
    .input("CustomerOverrides", file_path=f"{raw_dir}/customer_overrides.csv", is_optional=True)
    .output("Customers"),
    is_lazy=True,
)
steps["bronze/ingest_products"] = dag.add(
    flow.notebook("bronze/ingest_products")
    .input("Products", file_path=f"{raw_dir}/products.csv")
    .output(
        "Products",
        cols=[("product_id", "int"), ("product_name", "string"), ("category", "string"), ("unit_price", "double")],
    ),
    is_lazy=True,
)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Silver: clean, join and filter by year → `SalesOrderItems` (Delta), published as `SalesLines`

# COMMAND ----------

SALES_COLUMNS = [
    ("order_id", "int"),
    ("line_no", "int"),
    ("order_date", "date"),
    ("customer_id", "int"),
    ("customer_name", "string"),
    ("region", "string"),
    ("product_id", "int"),
    ("product_name", "string"),
    ("category", "string"),
    ("quantity", "int"),
    ("unit_price", "double"),
    ("discount_pct", "int"),
    ("amount", "double"),
    ("status", "string"),
    ("required_date", "date"),
    ("shipped_date", "date"),
]

steps["silver/build_sales"] = dag.add(
    flow.notebook("silver/build_sales")
    .args({"year": year})
    .input("Orders")
    .input("OrderItems")
    .input("Customers")
    .input("Products")
    .output("SalesOrderItems", cols=SALES_COLUMNS, alias="SalesLines", format="delta")
)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Gold: fan-out over `SalesLines`, fan-in into `KpiReport` (Delta)

# COMMAND ----------

steps["gold/revenue_by_product"] = dag.add(
    flow.notebook("gold/revenue_by_product")
    .input("SalesOrderItems", source_table="SalesLines")
    .output("ProductRevenue")
)
steps["gold/revenue_by_region"] = dag.add(
    flow.notebook("gold/revenue_by_region").input("SalesOrderItems", source_table="SalesLines").output("RegionRevenue")
)
steps["gold/shipping_delays"] = dag.add(
    flow.notebook("gold/shipping_delays")
    .input("SalesOrderItems", source_table="SalesLines")
    .output(
        "ShippingDelays",
        cols=[("order_id", "int"), ("days_to_ship", "int"), ("days_late", "int"), ("is_late", "boolean")],
    )
)

steps["gold/kpi_report"] = dag.add(
    flow.notebook("gold/kpi_report")
    .args({"year": year})
    .input("ProductRevenue")
    .input("RegionRevenue")
    .input("ShippingDelays")
    .output(
        "KpiReport",
        cols=[("metric", "string"), ("value", "double"), ("detail", "string")],
        format="delta",
    )
)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Analysis: a nested flow over `SalesLines`

# COMMAND ----------

steps["analysis/main"] = dag.add(
    flow.notebook("analysis/main")
    .args({"year": year})
    .input("SalesOrderItems", source_table="SalesLines")
    .output("MonthlyRevenue")
    .output("CustomerSegments")
)

# COMMAND ----------

dag.run()

# COMMAND ----------

TABLES = [
    "SalesLines",
    "ProductRevenue",
    "RegionRevenue",
    "ShippingDelays",
    "KpiReport",
    "MonthlyRevenue",
    "CustomerSegments",
]
summary = {
    "year": year,
    "runs": {
        notebook: json.loads(result) if result else None
        for notebook, result in ((n, s.result) for n, s in steps.items())
    },
    "tables": {table: flow[table] for table in TABLES},
}
dbutils.notebook.exit(json.dumps(summary))
