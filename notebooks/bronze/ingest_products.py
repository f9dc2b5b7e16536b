# Databricks notebook source
# MAGIC %md
# MAGIC # Bronze: ingest products
# MAGIC Reads the raw `Products` CSV and writes it as the parquet table `Products`.

# COMMAND ----------

import json

from dtflw import init_inputs, init_outputs

dbutils.widgets.removeAll()
inputs = init_inputs("Products")
outputs = init_outputs("Products")

# COMMAND ----------

SCHEMA = "product_id int, product_name string, category string, unit_price double"

products = spark.read.csv(inputs["Products"].value, header=True, schema=SCHEMA)
products.write.mode("overwrite").format("parquet").save(outputs["Products"].value)

# COMMAND ----------

dbutils.notebook.exit(json.dumps({"Products": spark.read.parquet(outputs["Products"].value).count()}))
