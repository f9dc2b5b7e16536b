"""Local folder storage: the embedded default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from dtflw.storage.base import FolderStorage
from dtflw.storage.environment import StorageEnvironment


class LocalStorage(FolderStorage):
    """Tables in a folder of this machine; paths are plain absolute OS paths."""

    def __init__(self, folder: str, root_dir: str = "", spark: Any = None, table_format: str = "parquet"):
        super().__init__(folder, root_dir=root_dir, spark=spark, table_format=table_format)


def init_storage(
    folder: str = ".dtflw/storage", root_dir: str = "", spark: Any = None, table_format: str = "parquet"
) -> LocalStorage:
    """A storage in `folder` (created on first write)."""
    return LocalStorage(folder, root_dir, spark, table_format)


def from_url(
    url: str, env: StorageEnvironment, table_format: str = "parquet", query: Mapping[str, list[str]] | None = None
) -> LocalStorage:
    """The storage of a folder path or `file:///path`."""
    folder = urlsplit(url).path if url.lower().startswith("file:") else url
    return LocalStorage(folder, spark=env.spark, table_format=table_format)
