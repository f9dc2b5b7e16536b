# Databricks notebook source
# MAGIC %md
# MAGIC # Analysis: monthly revenue
# MAGIC Orders and revenue per month of `SalesOrderItems` (Delta), with the running total over the year.
# MAGIC Months without orders have no row. Writes `MonthlyRevenue`.

# COMMAND ----------

import json

from pyspark.sql import Window
from pyspark.sql import functions as F

from dtflw import init_inputs, init_outputs

dbutils.widgets.removeAll()
inputs = init_inputs("SalesOrderItems")
outputs = init_outputs("MonthlyRevenue")

# COMMAND ----------

sales = spark.read.format("delta").load(inputs["SalesOrderItems"].value)
monthly = sales.groupBy(F.year("order_date").alias("year"), F.month("order_date").alias("month")).agg(
    F.countDistinct("order_id").cast("long").alias("order_count"),
    F.round(F.sum("amount"), 2).alias("revenue"),
)
year_to_date = Window.partitionBy("year").orderBy("month").rowsBetween(Window.unboundedPreceding, Window.currentRow)
monthly = monthly.withColumn("cumulative_revenue", F.round(F.sum("revenue").over(year_to_date), 2))
monthly.write.mode("overwrite").format("parquet").save(outputs["MonthlyRevenue"].value)

# COMMAND ----------

dbutils.notebook.exit(json.dumps({"MonthlyRevenue": spark.read.parquet(outputs["MonthlyRevenue"].value).count()}))
