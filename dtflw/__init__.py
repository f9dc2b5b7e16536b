"""dtflw: chain Databricks notebooks into dataflow pipelines."""
