# Databricks notebook source
# MAGIC %md
# MAGIC # Gold: KPI report
# MAGIC Fan-in of the gold tables `ProductRevenue`, `RegionRevenue` and `ShippingDelays` into one small
# MAGIC **Delta** table `KpiReport` of `(metric, value, detail)` rows: revenue, orders, average order value,
# MAGIC best product and region (name in `detail`; ties go to the lower id / the name first in order), and
# MAGIC shipping punctuality.

# COMMAND ----------

import json

from pyspark.sql import functions as F

from dtflw import init_args, init_inputs, init_outputs

dbutils.widgets.removeAll()
args = init_args("year")
inputs = init_inputs("ProductRevenue", "RegionRevenue", "ShippingDelays")
outputs = init_outputs("KpiReport")

# COMMAND ----------

products = spark.read.parquet(inputs["ProductRevenue"].value).orderBy(F.desc("revenue"), "product_id").collect()
regions = spark.read.parquet(inputs["RegionRevenue"].value).orderBy(F.desc("revenue"), "region").collect()
delays = spark.read.parquet(inputs["ShippingDelays"].value).orderBy("order_id").collect()


def ratio(numerator, denominator, digits):
    return round(numerator / denominator, digits) if denominator else 0.0


total_revenue = round(sum(row.revenue for row in products), 2)
order_count = sum(row.order_count for row in regions)
late_count = sum(1 for row in delays if row.is_late)
kpis = [
    ("total_revenue", total_revenue, args["year"].value),
    ("order_count", order_count, None),
    ("avg_order_value", ratio(total_revenue, order_count, 2), None),
    ("top_product_revenue", products[0].revenue if products else 0.0, products[0].product_name if products else None),
    ("top_region_revenue", regions[0].revenue if regions else 0.0, regions[0].region if regions else None),
    ("shipped_orders", len(delays), None),
    ("late_orders", late_count, None),
    ("late_share", ratio(late_count, len(delays), 4), None),
    ("avg_days_to_ship", ratio(sum(row.days_to_ship for row in delays), len(delays), 2), None),
]
kpi_report = spark.createDataFrame(
    [(metric, float(value), detail) for metric, value, detail in kpis], "metric string, value double, detail string"
)
kpi_report.write.mode("overwrite").option("overwriteSchema", "true").format("delta").save(outputs["KpiReport"].value)

# COMMAND ----------

spark.read.format("delta").load(outputs["KpiReport"].value).createOrReplaceTempView("kpi_report")

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT metric, value, detail FROM kpi_report ORDER BY metric

# COMMAND ----------

dbutils.notebook.exit(json.dumps({"KpiReport": spark.table("kpi_report").count()}))
