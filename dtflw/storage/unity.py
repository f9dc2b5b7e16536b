"""Unity Catalog storages: `uc://<catalog>.<schema>[/<volume>[/<root_dir>]]`.

A flow on such a storage writes its outputs as managed Delta tables of the schema, each named after its
output: the output's name lower-cased, every character other than a letter, digit or `_` made `_`
(`SalesLines` → `<catalog>.<schema>.saleslines`); `.output("T", table=...)` or `file_path=` still wins.
Files — inputs given by `file_path`, and dtflw's own state and lineage under `_dtflw/` — live in the
volume, `dtflw` when the URL names none (locally created on first use). Locally the catalog, schema and
volume must exist in the local Unity Catalog; a missing one is an error naming the statement to create it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from dtflw.errors import UnityCatalogError
from dtflw.storage.base import TableStates
from dtflw.storage.environment import StorageEnvironment
from dtflw.storage.volumes import VolumeStorage

DEFAULT_VOLUME = "dtflw"
_URL = re.compile(r"^uc://(?P<catalog>[^./\s]+)\.(?P<schema>[^./\s]+)(?:/(?P<volume>[^/\s]+)(?:/(?P<root>.*?))?)?/?\Z")


class VolumeCatalog(TableStates, Protocol):
    """The local Unity Catalog as a `uc://` storage asks it: which of catalog, schema and volume is missing."""

    def missing(self, catalog: str, schema: str, volume: str, create_volume: bool = False) -> str | None: ...


class UnityStorage(VolumeStorage):
    """A volume's files, and managed tables of the volume's schema for outputs."""

    @property
    def url(self) -> str:
        root = f"/{self.root_dir}" if self.root_dir else ""
        return f"uc://{self.catalog}.{self.schema}/{self.volume}{root}"

    @property
    def table_schema(self) -> str:
        return f"{self.catalog}.{self.schema}"

    def output_table(self, output: str) -> str:
        """The three-part name of an output's table: `<catalog>.<schema>.<output name, made a table name>`."""
        return f"{self.table_schema}.{re.sub(r'[^a-z0-9_]', '_', output.lower())}"


def from_url(
    url: str, env: StorageEnvironment, table_format: str = "delta", query: Mapping[str, list[str]] | None = None
) -> UnityStorage:
    """The storage of `uc://<catalog>.<schema>[/<volume>[/<root_dir>]]` in `env` (local runs only)."""
    found = _URL.match(url)
    if found is None:
        raise UnityCatalogError(
            f"Storage URL {url!r} names no Unity Catalog schema: use uc://<catalog>.<schema>[/<volume>[/<folder>]], "
            "e.g. uc://main.sales or uc://main.sales/raw."
        )
    catalog, schema, volume = (
        found["catalog"].lower(),
        found["schema"].lower(),
        (found["volume"] or DEFAULT_VOLUME).lower(),
    )
    tables = env.table_catalog
    if not env.is_local or tables is None:
        raise UnityCatalogError(
            f"Storage {url!r} needs the local Unity Catalog: run it locally on the sail engine (on Databricks, use "
            f"/Volumes/{catalog}/{schema}/{volume} with .output(..., table=...))."
        )
    _check_volume(tables, catalog, schema, volume, created=found["volume"] is None)
    storage = UnityStorage(
        catalog,
        schema,
        volume,
        found["root"] or "",
        env.spark,
        env.dbutils,
        local_folder=env.volumes_folder,
        table_format="delta",
    )
    storage.bind_tables(tables)
    return storage


def _check_volume(tables: VolumeCatalog, catalog: str, schema: str, volume: str, created: bool) -> None:
    """Raise naming what to create if the catalog, schema or volume is missing (the default volume is made)."""
    missing = tables.missing(catalog, schema, volume, create_volume=created)
    if missing:
        raise UnityCatalogError(
            f"Storage uc://{catalog}.{schema}/{volume}: {missing} does not exist; run CREATE "
            f"{missing.split()[0].upper()} {missing.split()[1]} first, or name another one."
        )
