"""Unity Catalog volumes: tables under `/Volumes/<catalog>/<schema>/<volume>/…`.

On a cluster a volume is a local (FUSE) path, so it is read like a folder and Spark takes the same
`/Volumes/…` path. Locally a folder stands in for `/Volumes`, as the local `dbutils.fs` maps it.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dtflw.errors import InvalidStorageNameError, PathOutsideStorageError, StorageError
from dtflw.storage.base import FolderStorage, Storage
from dtflw.storage.environment import StorageEnvironment

if TYPE_CHECKING:
    from dtflw.storage.workspace_volumes import WorkspaceVolumeStorage

    _StorageMixin = Storage  # the mixin's methods use and extend those of the storage it is mixed into
else:
    _StorageMixin = object

VOLUMES_ROOT = "/Volumes"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")
_NAME = re.compile(r"^[^./\s\x00-\x1f\x7f]{1,255}\Z")


def validate_volume_name(kind: str, name: str) -> str:
    """A catalog, schema or volume name: 1-255 characters, no period, space, slash or control character."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidStorageNameError(
            f"Unity Catalog {kind} name {name!r} is invalid: use 1-255 characters without periods, spaces, "
            "slashes or control characters (e.g. 'main', 'sales_raw')."
        )
    return name


class VolumeLocation(_StorageMixin):
    """Mixin of the storages of volume `catalog.schema.volume`: its checked names, `/Volumes/…` paths and URL."""

    def _locate(self, catalog: str, schema: str, volume: str) -> str:
        """Check and keep the volume's names; its base path, `/Volumes/<catalog>/<schema>/<volume>/`."""
        names = [validate_volume_name(k, n) for k, n in (("catalog", catalog), ("schema", schema), ("volume", volume))]
        self.catalog, self.schema, self.volume = names
        return posixpath.join(VOLUMES_ROOT, *names, "")

    @property
    def url(self) -> str:
        return self.base_path + self.root_dir if self.root_dir else self.base_path.rstrip("/")

    def logical_path(self, path: str) -> str:
        """`dbfs:/Volumes/…` as `/Volumes/…`, then as the storage maps its other paths."""
        return super().logical_path(path[len("dbfs:") :] if path.startswith("dbfs:/Volumes/") else path)


class VolumeStorage(VolumeLocation, FolderStorage):
    """Tables in a Unity Catalog volume; `local_folder` (the stand-in for `/Volumes`) when not on a cluster."""

    def __init__(
        self,
        catalog: str,
        schema: str,
        volume: str,
        root_dir: str = "",
        spark: Any = None,
        dbutils: Any = None,
        *,
        local_folder: str | None = None,
        table_format: str = "parquet",
    ):
        base = self._locate(catalog, schema, volume)
        names = [self.catalog, self.schema, self.volume]
        if local_folder is None and not os.path.isdir(base):
            raise StorageError(
                f"Volume {base!r} is not mounted here: create it (CREATE VOLUME {'.'.join(names)}) or check "
                "your access on Databricks; elsewhere pass local_folder= (the folder standing in for /Volumes)."
            )
        folder = os.path.join(local_folder, *names) if local_folder is not None else base
        super().__init__(
            folder, base_path=base, root_dir=root_dir, spark=spark, dbutils=dbutils, table_format=table_format
        )
        self._volumes_folder = os.path.abspath(local_folder) if local_folder is not None else VOLUMES_ROOT

    def engine_path(self, path: str) -> str:
        """The local (FUSE, or stand-in folder) path of any `/Volumes/…` path."""
        logical = self.logical_path(path)
        return self._volumes_folder + logical[len(VOLUMES_ROOT) :] if _is_volume_path(logical) else path

    def get_abs_path(self, rel_path: str) -> str:
        logical = self.logical_path(rel_path or "")
        if _is_volume_path(logical) and not self.is_abs_path(logical):
            raise PathOutsideStorageError(
                f"Path {rel_path!r} is in another volume than storage {self.base_path!r}; give a path in this "
                "volume, or declare it as a foreign input (it must be readable)."
            )
        return super().get_abs_path(rel_path)

    def resolve_foreign_input(self, path: str) -> str:
        """`path` itself if it is a readable path of another volume, else PathOutsideStorageError.
        A relative path is this storage's."""
        logical = self.logical_path(path or "")
        if self.is_abs_path(logical) or not (_is_volume_path(logical) or _SCHEME.match(logical)):
            return self.get_abs_path(path)
        if not _is_volume_path(logical):
            raise PathOutsideStorageError(
                f"Input {path!r} lies outside storage {self.base_path!r} and is not a volume path (/Volumes/…); "
                "copy it into a volume or fix the path."
            )
        local = self.engine_path(logical)
        if not self.fs.list_files(local):
            raise PathOutsideStorageError(
                f"Input {path!r} lies outside storage {self.base_path!r} and has no readable files "
                f"(looked in {local}); fix the path or your access to that volume."
            )
        return logical


def _is_volume_path(path: str) -> bool:
    return path.startswith(VOLUMES_ROOT + "/")


def init_storage(
    catalog: str,
    schema: str,
    volume: str,
    root_dir: str = "",
    local_folder: str | None = None,
    spark: Any = None,
    dbutils: Any = None,
    table_format: str = "parquet",
) -> VolumeStorage:
    """A storage in volume `catalog.schema.volume`; `local_folder` stands in for `/Volumes` off a cluster."""
    return VolumeStorage(
        catalog, schema, volume, root_dir, spark, dbutils, local_folder=local_folder, table_format=table_format
    )


def from_url(
    url: str, env: StorageEnvironment, table_format: str = "parquet", query: Mapping[str, list[str]] | None = None
) -> VolumeStorage | WorkspaceVolumeStorage:
    """The storage of `/Volumes/<catalog>/<schema>/<volume>[/<root_dir>]` in `env`."""
    return from_volume_path(url, env, table_format=table_format)


def from_volume_path(
    path: str, runtime: StorageEnvironment | None = None, spark: Any = None, table_format: str = "parquet"
) -> VolumeStorage | WorkspaceVolumeStorage:
    """The storage of `/Volumes/<catalog>/<schema>/<volume>[/<root_dir>]`; locally in the volumes folder of
    `runtime` (a storage environment, or anything with its attributes)."""
    parts = path[len(VOLUMES_ROOT) :].strip("/").split("/") if _is_volume_path(path) else []
    if len(parts) < 3:
        raise StorageError(f"Volume path {path!r} is malformed; use /Volumes/<catalog>/<schema>/<volume>[/<root>].")
    catalog, schema, volume = parts[:3]
    local_folder = runtime.volumes_folder if runtime is not None and runtime.is_local else None
    dbutils = runtime.dbutils if runtime is not None else None
    spark = spark if spark is not None else getattr(runtime, "spark", None)
    from dtflw.storage.workspace_fs import WorkspaceFs

    if isinstance(getattr(dbutils, "fs", None), WorkspaceFs):  # the databricks engine: the workspace's Files API
        from dtflw.storage.workspace_volumes import WorkspaceVolumeStorage

        return WorkspaceVolumeStorage(catalog, schema, volume, "/".join(parts[3:]), spark, dbutils, table_format)
    return VolumeStorage(
        catalog,
        schema,
        volume,
        "/".join(parts[3:]),
        spark,
        dbutils,
        local_folder=local_folder,
        table_format=table_format,
    )
