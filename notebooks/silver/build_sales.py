# Databricks notebook source
# MAGIC %md
# MAGIC # Silver: build the sales order items of one year
# MAGIC Cleans the bronze tables and joins them into one row per order line, written as the **Delta** table
# MAGIC `SalesOrderItems` (published by the orchestration under the alias `SalesLines`).
# MAGIC
# MAGIC Cleaning rules:
# MAGIC - strings are trimmed; `status` and `email` lower-cased; `region` in initial caps (`" south"` → `South`);
# MAGIC - orders without `order_id` or `order_date` are dropped, and so are `cancelled` orders;
# MAGIC - order lines with a null or non-positive `quantity`, or a null `unit_price`, are dropped; a null
# MAGIC   `discount_pct` counts as 0;
# MAGIC - duplicates (same order, order line, customer or product id) keep one row: the smallest by the other columns;
# MAGIC - a customer missing from `Customers` gets the region `Unknown` and a null name;
# MAGIC - `amount` = quantity × unit price × (100 − discount_pct) / 100, rounded half up to the cent in integer cents;
# MAGIC - only orders placed in the year given by the `year` argument are kept.

# COMMAND ----------

import json

from pyspark.sql import Window
from pyspark.sql import functions as F

from dtflw import init_args, init_inputs, init_outputs

dbutils.widgets.removeAll()
args = init_args("year")
inputs = init_inputs("Orders", "OrderItems", "Customers", "Products")
outputs = init_outputs("SalesOrderItems")

# COMMAND ----------

if not args["year"].value.isdigit():
    raise ValueError(f"Argument 'year' must be a year such as 2024, got {args['year'].value!r}.")
year = int(args["year"].value)


def one_row_per_key(df, *keys):
    """Keep one row per key: the smallest by the other columns, so the choice is the same on every run."""
    others = [F.col(c).asc_nulls_last() for c in df.columns if c not in keys]
    ranked = df.withColumn("_rank", F.row_number().over(Window.partitionBy(*keys).orderBy(*others)))
    return ranked.where(F.col("_rank") == 1).drop("_rank")


orders = one_row_per_key(
    spark.read.parquet(inputs["Orders"].value)
    .where(F.col("order_id").isNotNull() & F.col("order_date").isNotNull())
    .withColumn("status", F.lower(F.trim("status"))),
    "order_id",
).where(~F.col("status").eqNullSafe("cancelled"))

order_items = one_row_per_key(
    spark.read.parquet(inputs["OrderItems"].value)
    .where(F.col("quantity").isNotNull() & (F.col("quantity") > 0) & F.col("unit_price").isNotNull())
    .withColumn("discount_pct", F.coalesce("discount_pct", F.lit(0))),
    "order_id",
    "line_no",
)

customers = one_row_per_key(
    spark.read.parquet(inputs["Customers"].value).select(
        "customer_id",
        F.trim("customer_name").alias("customer_name"),
        F.initcap(F.trim("region")).alias("region"),
    ),
    "customer_id",
)

products = one_row_per_key(
    spark.read.parquet(inputs["Products"].value).select(
        "product_id",
        F.trim("product_name").alias("product_name"),
        F.trim("category").alias("category"),
    ),
    "product_id",
)

# COMMAND ----------

price_cents = F.round(F.col("unit_price") * 100).cast("long")
amount_cents = F.floor((F.col("quantity").cast("long") * price_cents * (100 - F.col("discount_pct")) + 50) / 100)

sales = (
    order_items.join(orders.where(F.year("order_date") == year), "order_id")
    .join(products, "product_id")
    .join(customers, "customer_id", "left")
    .select(
        "order_id",
        "line_no",
        "order_date",
        "customer_id",
        "customer_name",
        F.coalesce("region", F.lit("Unknown")).alias("region"),
        "product_id",
        "product_name",
        "category",
        "quantity",
        "unit_price",
        "discount_pct",
        (amount_cents.cast("double") / 100).alias("amount"),
        "status",
        "required_date",
        "shipped_date",
    )
)

sales.write.mode("overwrite").option("overwriteSchema", "true").format("delta").save(outputs["SalesOrderItems"].value)

# COMMAND ----------

written = spark.read.format("delta").load(outputs["SalesOrderItems"].value)
summary = {"year": year, "SalesOrderItems": written.count(), "orders": written.select("order_id").distinct().count()}
dbutils.notebook.exit(json.dumps(summary))
