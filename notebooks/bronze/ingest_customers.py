# Databricks notebook source
# MAGIC %md
# MAGIC # Bronze: ingest customers
# MAGIC Reads the raw `Customers` CSV and, when present, the optional `CustomerOverrides` CSV (same columns):
# MAGIC an override row replaces the customer with the same `customer_id`, or adds a new customer.
# MAGIC Writes the parquet table `Customers`.

# COMMAND ----------

import json

from dtflw import init_inputs, init_outputs

dbutils.widgets.removeAll()
inputs = init_inputs("Customers", "CustomerOverrides")
outputs = init_outputs("Customers")

# COMMAND ----------

SCHEMA = "customer_id int, customer_name string, email string, city string, region string, signup_date date"

customers = spark.read.csv(inputs["Customers"].value, header=True, schema=SCHEMA)
override_count = 0
if inputs["CustomerOverrides"].has_value:
    overrides = spark.read.csv(inputs["CustomerOverrides"].value, header=True, schema=SCHEMA)
    customers = customers.join(overrides.select("customer_id"), "customer_id", "left_anti").unionByName(overrides)
    override_count = overrides.count()

customers.write.mode("overwrite").format("parquet").save(outputs["Customers"].value)

# COMMAND ----------

summary = {"Customers": spark.read.parquet(outputs["Customers"].value).count(), "overrides": override_count}
dbutils.notebook.exit(json.dumps(summary))
