"""DBFS storage (`dbfs:/`): through `dbutils.fs` on a cluster, a local folder elsewhere."""

from __future__ import annotations

from dtflw.storage.base import FolderStorage, Storage
from dtflw.storage.filesystems import DbutilsFileSystem, FileSystem

BASE_PATH = "dbfs:/"


class DbfsStorage(Storage):
    """Tables under `dbfs:/<root_dir>/…`, listed with `dbutils.fs`."""

    def __init__(self, root_dir: str, spark=None, dbutils=None, table_format: str = "parquet"):
        super().__init__(root_dir, spark, dbutils, table_format)
        self._fs = DbutilsFileSystem(dbutils)

    @property
    def base_path(self) -> str:
        return BASE_PATH

    @property
    def fs(self) -> FileSystem:
        return self._fs

    @property
    def url(self) -> str:
        return BASE_PATH + self.root_dir


class LocalDbfsStorage(FolderStorage):
    """`dbfs:/` stood in for by a local folder (the local runtime's DBFS root)."""

    def __init__(self, folder: str, root_dir: str = "", spark=None, dbutils=None, table_format: str = "parquet"):
        super().__init__(
            folder, base_path=BASE_PATH, root_dir=root_dir, spark=spark, dbutils=dbutils, table_format=table_format
        )

    @property
    def url(self) -> str:
        return BASE_PATH + self.root_dir


def init_storage(root_dir: str = None, spark=None, dbutils=None, runtime=None, table_format: str = "parquet"):
    """A DBFS storage; `root_dir` defaults to `FileStore/<current user>` as in dtflw 0.6."""
    if runtime is None:
        from dtflw.runtime import current_runtime, from_dbutils

        runtime = from_dbutils(dbutils, spark) if dbutils is not None else current_runtime()
    if root_dir is None:
        root_dir = f"FileStore/{runtime.user}"
    spark = spark if spark is not None else runtime.spark
    if runtime.dbfs_folder:
        return LocalDbfsStorage(runtime.dbfs_folder, root_dir, spark, runtime.dbutils, table_format)
    return DbfsStorage(root_dir, spark, dbutils or runtime.dbutils, table_format)
