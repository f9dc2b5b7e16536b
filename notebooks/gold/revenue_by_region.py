# Databricks notebook source
# MAGIC %md
# MAGIC # Gold: revenue by customer region
# MAGIC Per customer region of `SalesOrderItems` (Delta): number of customers, orders and revenue.
# MAGIC Orders of customers missing from the customer table count under the region `Unknown`.
# MAGIC Writes `RegionRevenue`.

# COMMAND ----------

import json

from pyspark.sql import functions as F

from dtflw import init_inputs, init_outputs

dbutils.widgets.removeAll()
inputs = init_inputs("SalesOrderItems")
outputs = init_outputs("RegionRevenue")

# COMMAND ----------

sales = spark.read.format("delta").load(inputs["SalesOrderItems"].value)
region_revenue = sales.groupBy("region").agg(
    F.countDistinct("customer_id").cast("long").alias("customer_count"),
    F.countDistinct("order_id").cast("long").alias("order_count"),
    F.round(F.sum("amount"), 2).alias("revenue"),
)
region_revenue.write.mode("overwrite").format("parquet").save(outputs["RegionRevenue"].value)

# COMMAND ----------

written = spark.read.parquet(outputs["RegionRevenue"].value)
display(written.orderBy(F.desc("revenue"), "region"))

# COMMAND ----------

dbutils.notebook.exit(json.dumps({"RegionRevenue": written.count()}))
