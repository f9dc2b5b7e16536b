"""The dtflw 0.6 storage base: subclass it with a `base_path` reached through `dbutils.fs`."""

from __future__ import annotations

from typing import Any

from dtflw.storage.base import Storage
from dtflw.storage.filesystems import DbutilsFileSystem, FileSystem


def file_exists(abs_path: str, dbutils: Any = None) -> bool:
    """True if `dbutils.fs.ls(abs_path)` finds something."""
    if not abs_path:
        raise ValueError("'abs_path' cannot be None neither an empty string.")
    return bool(DbutilsFileSystem(dbutils).list_dir(abs_path))


class FileStorageBase(Storage):
    """A storage reached with `dbutils.fs`; subclasses define `base_path` (0.6 constructor order)."""

    def __init__(self, spark: Any = None, dbutils: Any = None, root_dir: str = "", table_format: str = "parquet"):
        super().__init__(root_dir, spark, dbutils, table_format)
        self._fs: FileSystem = DbutilsFileSystem(dbutils)  # dbutils None: the notebook's, found when first used

    @property
    def fs(self) -> FileSystem:
        return self._fs

    @property
    def url(self) -> str:
        return self.base_path + self.root_dir
