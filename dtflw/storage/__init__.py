"""Storages, chosen by URL: a folder, `dbfs:/`, `wasbs://`/`abfss://` (Azure), `/Volumes/…`."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlsplit

from dtflw.errors import UnknownStorageSchemeError
from dtflw.storage.base import FolderStorage, Storage

__all__ = ["FolderStorage", "Storage", "from_url"]

SCHEMES = ("file", "dbfs", "wasbs", "abfss", "/Volumes/…", "a plain folder path")
_AZURE_HOST = re.compile(r"^(?P<container>[^@]+)@(?P<account>[^.]+)\.(?P<kind>blob|dfs)\.")


def from_url(url: str, runtime=None) -> Storage:
    """The storage a URL names; `?format=delta` sets the default table format."""
    query = parse_qs(urlsplit(url).query) if "?" in url else {}
    table_format = query.get("format", ["parquet"])[0]
    url = url.split("?", 1)[0]
    scheme = url.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", url) else ""
    spark = getattr(runtime, "spark", None)
    if scheme in ("", "file"):
        if url.startswith("/Volumes/"):
            from dtflw.storage.volumes import from_volume_path

            return from_volume_path(url, runtime=runtime, spark=spark, table_format=table_format)
        from dtflw.storage.local import LocalStorage

        folder = urlsplit(url).path if scheme else url
        return LocalStorage(folder, spark=spark, table_format=table_format)
    if scheme == "dbfs":
        from dtflw.storage.dbfs import init_storage

        root = url[len("dbfs:") :].strip("/")
        return init_storage(root, spark=spark, runtime=runtime, table_format=table_format)
    if scheme in ("wasbs", "abfss"):
        from dtflw.storage.azure import from_url as azure_from_url
        from dtflw.storage.unavailable import deadline_options

        deadline = deadline_options(query, url)  # ?timeout=&retries=&retry_backoff=
        if not getattr(runtime, "is_local", False):
            user = getattr(runtime, "user", None)
            return azure_from_url(url, spark=spark, table_format=table_format, user=user, **deadline)
        # locally, Sail reads abfss:// (not wasbs://) with credentials from the environment
        storage = azure_from_url(
            url, spark=spark, table_format=table_format, engine_url_style="abfss", user=runtime.user, **deadline
        )
        os.environ.update(storage.sail_environment())
        return storage
    raise UnknownStorageSchemeError(
        f"Storage URL {url!r} has an unknown scheme {scheme!r}; use one of: {', '.join(SCHEMES)}."
    )
