# Databricks notebook source
# MAGIC %md
# MAGIC # Retail pipeline: bronze → silver → gold
# MAGIC Orchestrates the example pipeline with dtflw. Arguments (widgets):
# MAGIC - `year` (default `2024`): the year of orders the silver and gold tables cover;
# MAGIC - `raw_dir` (default `raw`): the folder, relative to the flow's storage, holding `orders.csv`,
# MAGIC   `order_items.csv`, `customers.csv`, `products.csv` and, optionally, `customer_overrides.csv`.
# MAGIC
# MAGIC Bronze notebooks run lazily (skipped when their outputs exist); the rest runs every time.
# MAGIC The exit value is a JSON object with each notebook's summary and the paths of the gold tables.

# COMMAND ----------

import json

from dtflw import init_args, init_flow

args = init_args({"year": "2024", "raw_dir": "raw"})
year = args["year"].value
raw_dir = args["raw_dir"].value.rstrip("/")

flow = init_flow()
results = {}

# COMMAND ----------

# MAGIC %md
# MAGIC ## Bronze: raw CSV → parquet

# COMMAND ----------

results["bronze/ingest_orders"] = (
    flow.notebook("bronze/ingest_orders")
    .input("Orders", file_path=f"{raw_dir}/orders.csv")
    .input("OrderItems", file_path=f"{raw_dir}/order_items.csv")
    .output("Orders")
    .output("OrderItems")
    .run(is_lazy=True)
)
results["bronze/ingest_customers"] = (
    flow.notebook("bronze/ingest_customers")
    .input("Customers", file_path=f"{raw_dir}/customers.csv")
    .input("CustomerOverrides", file_path=f"{raw_dir}/customer_overrides.csv", is_optional=True)
    .output("Customers")
    .run(is_lazy=True)
)
results["bronze/ingest_products"] = (
    flow.notebook("bronze/ingest_products")
    .input("Products", file_path=f"{raw_dir}/products.csv")
    .output(
        "Products",
        cols=[("product_id", "int"), ("product_name", "string"), ("category", "string"), ("unit_price", "double")],
    )
    .run(is_lazy=True)
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

results["silver/build_sales"] = (
    flow.notebook("silver/build_sales")
    .args({"year": year})
    .input("Orders")
    .input("OrderItems")
    .input("Customers")
    .input("Products")
    .output("SalesOrderItems", cols=SALES_COLUMNS, alias="SalesLines", format="delta")
    .run()
)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Gold: fan-out over `SalesLines`, fan-in into `KpiReport` (Delta)

# COMMAND ----------

results["gold/revenue_by_product"] = (
    flow.notebook("gold/revenue_by_product")
    .input("SalesOrderItems", source_table="SalesLines")
    .output("ProductRevenue")
    .run()
)
results["gold/revenue_by_region"] = (
    flow.notebook("gold/revenue_by_region")
    .input("SalesOrderItems", source_table="SalesLines")
    .output("RegionRevenue")
    .run()
)
results["gold/shipping_delays"] = (
    flow.notebook("gold/shipping_delays")
    .input("SalesOrderItems", source_table="SalesLines")
    .output(
        "ShippingDelays",
        cols=[("order_id", "int"), ("days_to_ship", "int"), ("days_late", "int"), ("is_late", "boolean")],
    )
    .run()
)

results["gold/kpi_report"] = (
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
    .run()
)

# COMMAND ----------

# MAGIC %md
# MAGIC ## Analysis: a nested flow over `SalesLines`

# COMMAND ----------

results["analysis/main"] = (
    flow.notebook("analysis/main")
    .args({"year": year})
    .input("SalesOrderItems", source_table="SalesLines")
    .output("MonthlyRevenue")
    .output("CustomerSegments")
    .run()
)

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
    "runs": {notebook: json.loads(result) if result else None for notebook, result in results.items()},
    "tables": {table: flow[table] for table in TABLES},
}
dbutils.notebook.exit(json.dumps(summary))
