# Databricks notebook source
# MAGIC %md
# MAGIC # Analysis (nested orchestration)
# MAGIC Called by `main` like any notebook: `main` declares its input `SalesOrderItems` and its outputs
# MAGIC `MonthlyRevenue` and `CustomerSegments`. This notebook runs its own flow and hands those exact
# MAGIC paths to its two children as explicit `file_path`s, so the tables land where `main` expects them.

# COMMAND ----------

import json

from dtflw import init_args, init_flow, init_inputs, init_outputs

dbutils.widgets.removeAll()
args = init_args("year")
inputs = init_inputs("SalesOrderItems")
outputs = init_outputs("MonthlyRevenue", "CustomerSegments")

flow = init_flow()

# COMMAND ----------

results = {}
results["monthly_revenue"] = (
    flow.notebook("monthly_revenue")
    .input("SalesOrderItems", file_path=inputs["SalesOrderItems"].value)
    .output(
        "MonthlyRevenue",
        cols=[("year", "int"), ("month", "int"), ("order_count", "bigint"), ("revenue", "double")],
        file_path=outputs["MonthlyRevenue"].value,
    )
    .run()
)
results["customer_segments"] = (
    flow.notebook("customer_segments")
    .input("SalesOrderItems", file_path=inputs["SalesOrderItems"].value)
    .output("CustomerSegments", file_path=outputs["CustomerSegments"].value)
    .run()
)

# COMMAND ----------

# a step skipped as up to date (`dtflw run --lazy`) returns no exit value
summary = {"year": args["year"].value, **{name: json.loads(result) if result else None for name, result in results.items()}}
dbutils.notebook.exit(json.dumps(summary))
