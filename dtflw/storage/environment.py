"""What a storage needs from where it runs — user, dbutils, local stand-in folders, a way to hand
the Spark engine its credentials — handed in by the runtime, never looked up by storage code.

The runtime registers one provider (`provide`) so that the 0.6 entry points called without
arguments inside a notebook (`dtflw.storage.dbfs.init_storage()`) still find their environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StorageEnvironment:
    user: str | None = None
    dbutils: Any = None  # the notebook's dbutils (a cluster's can list cloud storage)
    spark: Any = None  # a session, or None: then the flow binds its own on first use
    is_local: bool = False  # run by the local runtime: dbfs:/ and /Volumes are local folders
    dbfs_folder: str | None = None  # locally, the folder standing in for dbfs:/
    volumes_folder: str | None = None  # locally, the folder standing in for /Volumes
    grant_engine_credentials: Callable[[Mapping[str, str]], None] | None = None  # locally: for the Spark engine
    table_catalog: Any = None  # locally: the local Unity Catalog (answers for `uc:` tables, `uc://` storages)


_providers: list[Callable[[], StorageEnvironment | None]] = []


def provide(provider: Callable[[], StorageEnvironment | None]) -> None:
    """Register where `current()` finds the environment (the runtime does, once)."""
    _providers[:] = [provider]


def current() -> StorageEnvironment:
    """The environment of the notebook calling, or an empty one outside any notebook."""
    found = _providers[0]() if _providers else None
    return found or StorageEnvironment()


def of_dbutils(dbutils: Any, spark: Any = None) -> StorageEnvironment:
    """The environment of a cluster notebook given its `dbutils` (the user from its context tags)."""
    try:
        user = dbutils.notebook.entry_point.getDbutils().notebook().getContext().tags().apply("user")
    except Exception:  # no context (py4j raises NoSuchElementException for a missing tag)
        user = None
    return StorageEnvironment(user=user, dbutils=dbutils, spark=spark)
