"""`display` and `displayHTML` for notebooks run locally: text on stdout."""

from __future__ import annotations

import re

from dtflw.engines.display import display

__all__ = ["display", "displayHTML"]


def displayHTML(content: str) -> None:  # noqa: N802 - Databricks' name
    """Print the text of an HTML fragment (tags stripped)."""
    import html

    print(html.unescape(re.sub(r"<[^>]+>", " ", str(content))).strip())
