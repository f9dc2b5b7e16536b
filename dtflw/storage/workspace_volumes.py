"""A Unity Catalog volume reached through the workspace's Files API: `/Volumes/…` storage on the
`databricks` engine, where notebooks run off the cluster (no FUSE mount of `/Volumes` here).

Listing and existence checks go through the notebooks' `dbutils.fs` (the engine's `WorkspaceFs`), one
Files API request per folder; Spark, on the cluster, reads and writes the same `/Volumes/…` paths.
"""

from __future__ import annotations

from typing import Any

from dtflw.storage.fs import FileStorageBase
from dtflw.storage.volumes import VolumeLocation


class WorkspaceVolumeStorage(VolumeLocation, FileStorageBase):
    """Tables in volume `catalog.schema.volume`, listed through the workspace's Files API."""

    def __init__(
        self,
        catalog: str,
        schema: str,
        volume: str,
        root_dir: str = "",
        spark: Any = None,
        dbutils: Any = None,
        table_format: str = "parquet",
    ):
        base = self._locate(catalog, schema, volume)
        super().__init__(spark, dbutils, root_dir, table_format)
        self._base = base

    @property
    def base_path(self) -> str:
        return self._base
