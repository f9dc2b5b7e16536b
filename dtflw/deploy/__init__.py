"""Deploying a flow to Databricks: export it as a multi-task Job or an Asset Bundle, or run its
notebooks as remote one-time runs (`JobsRunner`). databricks-sdk is imported only where used."""
