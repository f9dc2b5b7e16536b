"""Validation of the names users give: tables, arguments, notebook paths; the job task keys made of them."""

from __future__ import annotations

import re
from collections.abc import Container

from dtflw.errors import InvalidNotebookPathError, InvalidTableNameError

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_CONTROL = re.compile(r"[\x00-\x1f]")
MAX_TASK_KEY = 100  # Jobs API 2.2
_NOT_IN_KEY = re.compile(r"[^A-Za-z0-9_-]+")  # the API checks [\w-] as Java does: ASCII only


def check_table_name(name: object, role: str, notebook: str) -> str:
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


def check_notebook_path(path: object) -> str:
    """Return `path` if it can name a notebook, else raise."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidNotebookPathError(f"Notebook path {path!r} is empty; give a path such as 'ingest_data'.")
    if _CONTROL.search(path) or path != path.strip():
        raise InvalidNotebookPathError(f"Notebook path {path!r} has whitespace at its ends or control characters.")
    return path


def unique_task_key(name: str, taken: Container[str]) -> str:
    """The task key of a step named `name` (its notebook path as called) when the keys `taken` exist:
    `p/ingest` → `p_ingest`, then `p_ingest_2`… The local runtime keys task values the same way."""
    base = _NOT_IN_KEY.sub("_", name).strip("_")[:MAX_TASK_KEY] or "step"
    key, n = base, 1
    while key in taken:
        n += 1
        suffix = f"_{n}"
        key = base[: MAX_TASK_KEY - len(suffix)] + suffix
    return key
