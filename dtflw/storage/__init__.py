"""Storages, chosen by URL scheme: a folder, `dbfs:/`, `wasbs://`/`abfss://` (Azure), `s3://` (AWS, extra
`dtflw[aws]`), `gs://` (Google Cloud, extra `dtflw[gcp]`), `/Volumes/…`.

A backend registers a factory `factory(url, env, table_format, query) -> Storage` under its scheme
(`query`: the URL's other parameters, as `urllib.parse.parse_qs` gives them); third
parties add one through the `dtflw.storages` entry-point group (e.g. `r2 = mypkg.r2:from_url`)
without editing dtflw. Backends are imported only when their scheme is used.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from dtflw.errors import UnknownStorageSchemeError
from dtflw.storage.base import FolderStorage, Storage
from dtflw.storage.environment import StorageEnvironment

__all__ = ["STORAGE_ENV", "FolderStorage", "Storage", "StorageEnvironment", "default_storage", "from_url", "register"]

ENTRY_POINT_GROUP = "dtflw.storages"
STORAGE_ENV = "DTFLW_STORAGE"  # the storage URL of a flow opened without one
VOLUMES_PREFIX = "/Volumes/"
_BUILTIN = {
    "file": "dtflw.storage.local:from_url",
    "dbfs": "dtflw.storage.dbfs:from_url",
    "wasbs": "dtflw.storage.azure:from_storage_url",
    "abfss": "dtflw.storage.azure:from_storage_url",
    "volumes": "dtflw.storage.volumes:from_url",
    "s3": "dtflw.storage.s3:from_storage_url",
    "gs": "dtflw.storage.gcs:from_storage_url",
    "uc": "dtflw.storage.unity:from_url",
}
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+):")
# factory(url, env, table_format, query): `query` as `urllib.parse.parse_qs` gives it
StorageFactory = Callable[[str, StorageEnvironment, str, dict[str, list[str]]], Storage]
_registered: dict[str, StorageFactory] = {}


def register(scheme: str, factory: StorageFactory) -> None:
    """Use `factory(url, env, table_format, query)` for storage URLs of `scheme`."""
    _registered[scheme.lower()] = factory


def scheme_of(url: str) -> str:
    """`file` for a plain path, `volumes` for `/Volumes/…`, else the URL's scheme."""
    if url.startswith(VOLUMES_PREFIX):
        return "volumes"
    match = _SCHEME.match(url)
    return match["scheme"].lower() if match else "file"


def from_url(url: str, env: StorageEnvironment | None = None) -> Storage:
    """The storage a URL names; `?format=delta` sets the default table format."""
    query = parse_qs(urlsplit(url).query) if "?" in url else {}
    table_format = query.get("format", ["delta" if url.startswith("uc:") else "parquet"])[0]
    url = url.split("?", 1)[0]
    return _factory(scheme_of(url))(url, env or StorageEnvironment(), table_format, query)


def default_storage(env: StorageEnvironment, url: str | None = None) -> Storage:
    """The storage of a flow opened without one: `url`, else DBFS `FileStore/<user>` as in dtflw 0.6."""
    if url:
        return from_url(url, env)
    from dtflw.storage.dbfs import dbfs_storage

    return dbfs_storage(None, env)


def _factory(scheme: str) -> StorageFactory:
    if scheme in _registered:
        return _registered[scheme]
    target = _BUILTIN.get(scheme)
    if target is None:
        from importlib.metadata import entry_points

        plugins = {ep.name.lower(): ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        if scheme in plugins:
            register(scheme, plugins[scheme].load())
            return _registered[scheme]
        known = sorted(set(_BUILTIN) | set(_registered) | set(plugins))
        raise UnknownStorageSchemeError(
            f"Storage URL scheme {scheme!r} is unknown; use one of: {', '.join(known)} (a plain folder path is "
            f"'file'), or install a package that registers it in the {ENTRY_POINT_GROUP!r} entry-point group."
        )
    module, name = target.split(":")
    factory: StorageFactory = getattr(importlib.import_module(module), name)
    return factory
