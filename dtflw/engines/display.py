"""Databricks' `display(obj)` and `df.display()` as text: what every engine's sessions give notebooks."""

from __future__ import annotations

from typing import Any

ROWS_SHOWN = 20


def display(obj: Any, *args: Any, **kwargs: Any) -> None:
    """Print a DataFrame's first rows (like the notebook table), anything else as text."""
    if hasattr(obj, "show") and hasattr(obj, "schema"):
        obj.show(ROWS_SHOWN, truncate=False)
    elif hasattr(obj, "to_string"):
        print(obj.to_string())
    else:
        print(obj)


def install_dataframe_display() -> None:
    """Give DataFrames Databricks' `df.display()` (once an engine has imported pyspark)."""
    from pyspark.sql import DataFrame
    from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame

    for cls in (DataFrame, ConnectDataFrame):
        if not hasattr(cls, "display"):
            cls.display = display  # type: ignore[union-attr]  # pyspark's DataFrame classes, given Databricks' method
