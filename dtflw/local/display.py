"""`display`, `displayHTML` and `DataFrame.display` for notebooks run locally: text on stdout."""

from __future__ import annotations

import html
import re

ROWS_SHOWN = 20


def display(obj, *args, **kwargs) -> None:
    """Print a DataFrame's first rows (like the notebook table), anything else as text."""
    if hasattr(obj, "show") and hasattr(obj, "schema"):
        obj.show(ROWS_SHOWN, truncate=False)
    elif hasattr(obj, "to_string"):
        print(obj.to_string())
    else:
        print(obj)


def displayHTML(content: str) -> None:  # noqa: N802 - Databricks' name
    """Print the text of an HTML fragment (tags stripped)."""
    print(html.unescape(re.sub(r"<[^>]+>", " ", str(content))).strip())


def install_dataframe_display() -> None:
    """Give DataFrames Databricks' `df.display()`."""
    from pyspark.sql import DataFrame
    from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame

    for cls in (DataFrame, ConnectDataFrame):
        if not hasattr(cls, "display"):
            cls.display = display  # type: ignore[union-attr]  # pyspark's DataFrame classes, given Databricks' method
