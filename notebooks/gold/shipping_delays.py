# Databricks notebook source
# MAGIC %md
# MAGIC # Gold: shipping delays
# MAGIC One row per shipped order of `SalesOrderItems` (Delta): days from order to shipping, and days
# MAGIC shipped after the required date (0 when on time). Writes `ShippingDelays`.

# COMMAND ----------

import json

from pyspark.sql import functions as F

from dtflw import init_inputs, init_outputs

dbutils.widgets.removeAll()
inputs = init_inputs("SalesOrderItems")
outputs = init_outputs("ShippingDelays")

# COMMAND ----------

sales = spark.read.format("delta").load(inputs["SalesOrderItems"].value)
shipped_orders = (
    sales.where(F.col("shipped_date").isNotNull())
    .select("order_id", "customer_id", "region", "order_date", "required_date", "shipped_date")
    .distinct()
)
delays = shipped_orders.select(
    "*",
    F.datediff("shipped_date", "order_date").cast("int").alias("days_to_ship"),
    F.greatest(F.datediff("shipped_date", "required_date"), F.lit(0)).cast("int").alias("days_late"),
    (F.col("shipped_date") > F.col("required_date")).alias("is_late"),
)
delays.write.mode("overwrite").format("parquet").save(outputs["ShippingDelays"].value)

# COMMAND ----------

written = spark.read.parquet(outputs["ShippingDelays"].value)
late_count = written.where("is_late").count()
dbutils.notebook.exit(json.dumps({"ShippingDelays": written.count(), "late": late_count}))
