# Databricks notebook source
# MAGIC %md
# MAGIC # Bronze: ingest orders and order items
# MAGIC Reads the raw CSVs `Orders` and `OrderItems` and writes them, typed but otherwise as delivered, as
# MAGIC parquet tables of the same names. Each table is both an input (the CSV) and an output (the parquet).
# MAGIC Empty fields become nulls; cleaning is the silver layer's job.

# COMMAND ----------

import json

from dtflw import init_inputs, init_outputs

dbutils.widgets.removeAll()
inputs = init_inputs("Orders", "OrderItems")
outputs = init_outputs("Orders", "OrderItems")

# COMMAND ----------

SCHEMAS = {
    "Orders": "order_id int, customer_id int, order_date date, required_date date, shipped_date date, status string",
    "OrderItems": "order_id int, line_no int, product_id int, quantity int, unit_price double, discount_pct int",
}

row_counts = {}
for table, schema in SCHEMAS.items():
    raw = spark.read.csv(inputs[table].value, header=True, schema=schema)
    raw.write.mode("overwrite").format("parquet").save(outputs[table].value)
    row_counts[table] = spark.read.parquet(outputs[table].value).count()

# COMMAND ----------

dbutils.notebook.exit(json.dumps(row_counts))
