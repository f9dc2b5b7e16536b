# Databricks notebook source
# MAGIC %md
# MAGIC # Analysis: customer segments
# MAGIC Revenue per customer of `SalesOrderItems` (Delta), ranked (ties go to the lower `customer_id`) and
# MAGIC segmented: `high` from the `high_revenue` argument up, `medium` from `medium_revenue` up, else `low`.
# MAGIC Writes `CustomerSegments`.

# COMMAND ----------

import json

from pyspark.sql import Window
from pyspark.sql import functions as F

from dtflw import init_args, init_inputs, init_outputs

dbutils.widgets.removeAll()
args = init_args({"high_revenue": "400", "medium_revenue": "150"})
inputs = init_inputs("SalesOrderItems")
outputs = init_outputs("CustomerSegments")

high_revenue, medium_revenue = float(args["high_revenue"].value), float(args["medium_revenue"].value)

# COMMAND ----------

sales = spark.read.format("delta").load(inputs["SalesOrderItems"].value)
by_revenue = Window.orderBy(F.desc("revenue"), F.asc_nulls_last("customer_id"))
segments = (
    sales.groupBy("customer_id", "customer_name", "region")
    .agg(F.countDistinct("order_id").cast("long").alias("order_count"), F.round(F.sum("amount"), 2).alias("revenue"))
    .withColumn("revenue_rank", F.row_number().over(by_revenue))
    .withColumn(
        "segment",
        F.when(F.col("revenue") >= high_revenue, "high")
        .when(F.col("revenue") >= medium_revenue, "medium")
        .otherwise("low"),
    )
)
segments.write.mode("overwrite").format("parquet").save(outputs["CustomerSegments"].value)

# COMMAND ----------

written = spark.read.parquet(outputs["CustomerSegments"].value)
summary = {
    "CustomerSegments": written.count(),
    **{row.segment: row["count"] for row in written.groupBy("segment").count().collect()},
}
dbutils.notebook.exit(json.dumps(summary))
