"""A Unity Catalog volume reached through the workspace's Files API: `/Volumes/…` storage on the
`databricks` engine, where notebooks run off the cluster (no FUSE mount of `/Volumes` here).

Listing and existence checks go through the notebooks' `dbutils.fs` (the engine's `WorkspaceFs`), one
Files API request per folder; Spark, on the cluster, reads and writes the same `/Volumes/…` paths.
"""

from __future__ import annotations

import posixpath

from dtflw.storage.base import Storage
from dtflw.storage.filesystems import DbutilsFileSystem, FileSystem
from dtflw.storage.volumes import VOLUMES_ROOT, validate_volume_name


class WorkspaceVolumeStorage(Storage):
    """Tables in volume `catalog.schema.volume`, listed through the workspace's Files API."""

    def __init__(
        self,
        catalog: str,
        schema: str,
        volume: str,
        root_dir: str = "",
        spark=None,
        dbutils=None,
        table_format: str = "parquet",
    ):
        names = [validate_volume_name(k, n) for k, n in (("catalog", catalog), ("schema", schema), ("volume", volume))]
        super().__init__(root_dir, spark, dbutils, table_format)
        self._base = posixpath.join(VOLUMES_ROOT, *names, "")
        self._fs = DbutilsFileSystem(dbutils)
        self.catalog, self.schema, self.volume = names

    @property
    def base_path(self) -> str:
        return self._base

    @property
    def fs(self) -> FileSystem:
        return self._fs

    @property
    def url(self) -> str:
        return self._base + self.root_dir if self.root_dir else self._base.rstrip("/")

    def logical_path(self, path: str) -> str:
        """`dbfs:/Volumes/…` as `/Volumes/…`; other paths unchanged."""
        return path[len("dbfs:") :] if path.startswith("dbfs:/Volumes/") else path
