"""DBFS storage (`dbfs:/`): through `dbutils.fs` on a cluster, a local folder elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from dtflw.storage import environment
from dtflw.storage.base import FolderStorage, Storage
from dtflw.storage.environment import StorageEnvironment
from dtflw.storage.fs import FileStorageBase

BASE_PATH = "dbfs:/"


class DbfsStorage(FileStorageBase):
    """Tables under `dbfs:/<root_dir>/…`, listed with `dbutils.fs`."""

    def __init__(self, root_dir: str, spark: Any = None, dbutils: Any = None, table_format: str = "parquet"):
        super().__init__(spark, dbutils, root_dir, table_format)

    @property
    def base_path(self) -> str:
        return BASE_PATH


class LocalDbfsStorage(FolderStorage, FileStorageBase):
    """`dbfs:/` stood in for by a local folder (the local runtime's DBFS root)."""

    def __init__(
        self, folder: str, root_dir: str = "", spark: Any = None, dbutils: Any = None, table_format: str = "parquet"
    ):
        super().__init__(
            folder, base_path=BASE_PATH, root_dir=root_dir, spark=spark, dbutils=dbutils, table_format=table_format
        )

    @property
    def url(self) -> str:
        return BASE_PATH + self.root_dir


def init_storage(
    root_dir: str | None = None,
    spark: Any = None,
    dbutils: Any = None,
    runtime: StorageEnvironment | None = None,
    table_format: str = "parquet",
) -> Storage:
    """A DBFS storage (dtflw 0.6 order); `root_dir` defaults to `FileStore/<current user>` as in 0.6.

    `runtime`: a storage environment (or anything with its attributes); default: the calling notebook's."""
    env = runtime if runtime is not None else environment.current()
    if dbutils is not None and dbutils is not env.dbutils:
        env = environment.of_dbutils(dbutils, spark)
    if spark is not None:
        env = replace(env, spark=spark)
    return dbfs_storage(root_dir, env, table_format)


def dbfs_storage(root_dir: str | None, env: StorageEnvironment, table_format: str = "parquet") -> Storage:
    """`dbfs:/<root_dir>` in `env`: through its dbutils on a cluster, its DBFS folder locally."""
    if root_dir is None:
        root_dir = f"FileStore/{env.user}"
    if env.dbfs_folder:
        return LocalDbfsStorage(env.dbfs_folder, root_dir, env.spark, env.dbutils, table_format)
    return DbfsStorage(root_dir, env.spark, env.dbutils, table_format)


def from_url(
    url: str, env: StorageEnvironment, table_format: str = "parquet", query: Mapping[str, list[str]] | None = None
) -> Storage:
    """The storage of `dbfs:/<root_dir>`."""
    return dbfs_storage(url[len("dbfs:") :].strip("/"), env, table_format)
