"""Unity Catalog tables as dtflw tables: `.input("T", table="cat.sch.tbl")`, `.output("T", table=...)`.

Inside dtflw a catalog table stands where a path would, as `uc:<catalog>.<schema>.<table>` (no file
path has that form); the callee's widget `<T>_in`/`<T>_out` holds the three-part name, which it reads
with `spark.table` and writes with `saveAsTable`. A storage answers for such a table through the table
catalog bound to it (`Storage.bind_tables`), locally the local Unity Catalog.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dtflw.errors import UnityCatalogError
from dtflw.storage.tables import TABLE_PREFIX as PREFIX

if TYPE_CHECKING:
    from dtflw.storage import Storage

_PART = r"(?:`[^`.]{1,255}`|[A-Za-z0-9_][A-Za-z0-9_-]{0,254})"
_THREE_PARTS = re.compile(rf"^{_PART}\.{_PART}\.{_PART}\Z")


def table_ref(name: object, what: str) -> str:
    """The reference of the three-part table `name`; `what` (e.g. "output 'T' of notebook 'nb'") for errors."""
    if not isinstance(name, str) or not _THREE_PARTS.match(name.strip()):
        raise UnityCatalogError(
            f"Table {name!r} of {what} is not a valid Unity Catalog name: give all three parts, "
            "<catalog>.<schema>.<table> (letters, digits, _ or -; quote other names in backticks), "
            "e.g. 'main.default.orders'."
        )
    return PREFIX + ".".join(p.strip("`").lower() for p in name.strip().split("."))


def is_table_ref(path: object) -> bool:
    return isinstance(path, str) and path.startswith(PREFIX)


def table_name(ref: str) -> str:
    """The three-part name of a reference (what the callee gets)."""
    return ref[len(PREFIX) :]


def spark_path(storage: Storage, path: str) -> str:
    """What a notebook is given for `path`: a catalog table's three-part name, else the engine path."""
    return table_name(path) if is_table_ref(path) else storage.engine_path(path)
