"""Validation of the names users give: tables, arguments, notebook paths."""

from __future__ import annotations

import re

from dtflw.errors import InvalidNotebookPathError, InvalidTableNameError

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_CONTROL = re.compile(r"[\x00-\x1f]")


def check_table_name(name, role: str, notebook: str) -> str:
    """Return `name` if it is a valid table name, else raise naming the notebook and the role."""
    where = f"{role} of notebook '{notebook}'"
    if not isinstance(name, str) or not name:
        raise InvalidTableNameError(f"The {where} has an empty table name; give a name such as 'Orders'.")
    if not _TABLE_NAME.match(name) or ".." in name:
        raise InvalidTableNameError(
            f"Table name {name!r} ({where}) is invalid: use letters, digits, '_', '-' and '.', "
            "without path separators, '..', whitespace or control characters."
        )
    return name


def check_notebook_path(path) -> str:
    """Return `path` if it can name a notebook, else raise."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidNotebookPathError(f"Notebook path {path!r} is empty; give a path such as 'ingest_data'.")
    if _CONTROL.search(path) or path != path.strip():
        raise InvalidNotebookPathError(f"Notebook path {path!r} has whitespace at its ends or control characters.")
    return path
