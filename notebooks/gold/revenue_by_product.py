# Databricks notebook source
# MAGIC %md
# MAGIC # Gold: revenue by product
# MAGIC Per product of `SalesOrderItems` (Delta): number of orders, units sold and revenue.
# MAGIC Writes `ProductRevenue`.

# COMMAND ----------

import json

from pyspark.sql import functions as F

from dtflw import init_inputs, init_outputs

dbutils.widgets.removeAll()
inputs = init_inputs("SalesOrderItems")
outputs = init_outputs("ProductRevenue")

# COMMAND ----------

sales = spark.read.format("delta").load(inputs["SalesOrderItems"].value)
product_revenue = sales.groupBy("product_id", "product_name", "category").agg(
    F.countDistinct("order_id").cast("long").alias("order_count"),
    F.sum("quantity").cast("long").alias("quantity"),
    F.round(F.sum("amount"), 2).alias("revenue"),
)
product_revenue.write.mode("overwrite").format("parquet").save(outputs["ProductRevenue"].value)

# COMMAND ----------

written = spark.read.parquet(outputs["ProductRevenue"].value)
display(written.orderBy(F.desc("revenue"), "product_id"))

# COMMAND ----------

dbutils.notebook.exit(json.dumps({"ProductRevenue": written.count()}))
