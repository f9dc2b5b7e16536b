"""The local Unity Catalog's metastore: catalogs, schemas, tables and volumes as JSON files in a folder.

One folder holds the metastore of a local workspace (`.dtflw/unity-catalog` by default), so every
notebook session, and every later process, sees the same catalog. Each securable is one file written
whole (a temporary file, then a rename); a create that finds its file already there is a conflict.
Managed tables get their data folder under `managed/<table id>` (as Databricks keeps them under its
managed storage); a volume is a folder under the volumes root (`volume_folder`), as `/Volumes/…`.
Created from the start: catalogs `main` and `hive_metastore`, each with the schema `default`.

Answers are the open-source Unity Catalog REST API's objects (`CatalogInfo`, `SchemaInfo`, `TableInfo`,
`VolumeInfo`); errors are `UnityError`s carrying the API's status and error code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from typing import Any
from urllib.parse import unquote, urlparse

DEFAULT_CATALOGS = ("main", "hive_metastore")
DEFAULT_SCHEMA = "default"
_NAME = re.compile(r"^[^./\s\x00-\x1f\x7f`]{1,255}\Z")

JsonObject = dict[
    str, Any
]  # an object of the REST API as JSON: an info (CatalogInfo, TableInfo…), a request, an answer


class UnityError(Exception):
    """A refused request: HTTP `status`, the API's `error_code`, and a message saying what to do."""

    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def volume_folder(volumes_root: str, catalog: str, schema: str, volume: str) -> str:
    """The local folder standing in for `/Volumes/<catalog>/<schema>/<volume>` (the one place that maps it)."""
    return os.path.join(volumes_root, catalog, schema, volume)


def local_path(uri: str) -> str:
    """The local path of a `file:` URI (or of a plain path)."""
    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


def _now() -> int:
    return int(time.time() * 1000)


def check_name(kind: str, name: object) -> str:
    """A catalog, schema, table or volume name, lower-cased as Unity Catalog compares them."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise UnityError(
            400,
            "INVALID_PARAMETER_VALUE",
            f"Invalid {kind} name {name!r}: use 1-255 characters without periods, spaces, slashes or backticks.",
        )
    return name.lower()


class UnityStore:
    """The metastore in `root`; volumes live under `volumes_root`."""

    def __init__(self, root: str, volumes_root: str):
        self.root = os.path.abspath(root)
        self.volumes_root = os.path.abspath(volumes_root)
        self._meta = os.path.join(self.root, "metastore")
        self._lock = threading.Lock()
        for catalog in DEFAULT_CATALOGS:
            self._ensure(catalog)

    def _ensure(self, catalog: str) -> None:
        if not os.path.exists(self._catalog_file(catalog)):
            self._write(self._catalog_file(catalog), _catalog_info(catalog), exclusive=True, quiet=True)
        schema_file = self._schema_file(catalog, DEFAULT_SCHEMA)
        if not os.path.exists(schema_file):
            self._write(schema_file, _schema_info(catalog, DEFAULT_SCHEMA), exclusive=True, quiet=True)

    # -- files ------------------------------------------------------------------------------
    def _catalog_file(self, catalog: str) -> str:
        return os.path.join(self._meta, catalog, "_catalog.json")

    def _schema_file(self, catalog: str, schema: str) -> str:
        return os.path.join(self._meta, catalog, schema, "_schema.json")

    def _object_file(self, kind: str, catalog: str, schema: str, name: str) -> str:
        return os.path.join(self._meta, catalog, schema, kind, name + ".json")

    def _write(self, path: str, info: JsonObject, exclusive: bool = False, quiet: bool = False) -> None:
        """Write `info` whole; `exclusive`: fail with ALREADY_EXISTS if the file is there (`quiet`: keep it)."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "w") as out:
            json.dump(info, out)
        try:
            if not exclusive:
                return os.replace(tmp, path)
            try:
                os.link(tmp, path)  # atomic, and refuses an existing file (another process may create it too)
            except FileExistsError:
                if not quiet:
                    raise UnityError(
                        409, "ALREADY_EXISTS", f"{info.get('full_name', info['name'])} already exists."
                    ) from None
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    @staticmethod
    def _read(path: str, what: str) -> JsonObject:
        try:
            with open(path) as f:
                info = json.load(f)
        except FileNotFoundError:
            raise UnityError(404, "NOT_FOUND", f"{what} does not exist.") from None
        except ValueError:
            raise UnityError(500, "INTERNAL", f"The metastore file of {what} ({path}) is corrupt: remove it.") from None
        if not isinstance(info, dict) or "name" not in info:
            raise UnityError(500, "INTERNAL", f"The metastore file of {what} ({path}) is corrupt: remove it.")
        return info

    def _list(self, folder: str, file_name: str | None = None) -> list[JsonObject]:
        """The infos in `folder`: `<entry>/<file_name>` for each entry, else each `*.json` in it."""
        try:
            entries = sorted(os.listdir(folder))
        except FileNotFoundError:
            return []
        paths = [os.path.join(folder, e, file_name) if file_name else os.path.join(folder, e) for e in entries]
        found = []
        for path in paths:
            if (file_name and os.path.isfile(path)) or (not file_name and path.endswith(".json")):
                try:
                    found.append(self._read(path, path))
                except UnityError:
                    continue  # a corrupt entry is skipped in listings, reported when asked for by name
        return found

    # -- catalogs ---------------------------------------------------------------------------
    def list_catalogs(self) -> list[JsonObject]:
        return self._list(self._meta, "_catalog.json")

    # a name (`name`, `catalog`, `schema`) typed `object` is taken as a request gives it, and checked here

    def get_catalog(self, name: object) -> JsonObject:
        catalog = check_name("catalog", name)
        return self._read(self._catalog_file(catalog), f"Catalog '{catalog}'")

    def create_catalog(self, name: object, comment: str | None = None) -> JsonObject:
        catalog = check_name("catalog", name)
        info = _catalog_info(catalog, comment)
        self._write(self._catalog_file(catalog), info, exclusive=True)
        return info

    def delete_catalog(self, name: str, force: bool = False) -> None:
        info = self.get_catalog(name)
        schemas = self.list_schemas(info["name"])
        if not force and any(
            s["name"] != DEFAULT_SCHEMA or self._schema_has_objects(info["name"], s["name"]) for s in schemas
        ):
            raise UnityError(
                400, "INVALID_STATE", f"Catalog '{info['name']}' is not empty: drop its schemas first, or use CASCADE."
            )
        for schema in schemas:
            self._drop_schema_objects(info["name"], schema["name"])
        shutil.rmtree(os.path.join(self._meta, info["name"]), ignore_errors=True)

    # -- schemas ----------------------------------------------------------------------------
    def list_schemas(self, catalog: str) -> list[JsonObject]:
        catalog = self.get_catalog(catalog)["name"]
        return self._list(os.path.join(self._meta, catalog), "_schema.json")

    def get_schema(self, full_name: str) -> JsonObject:
        catalog, schema = _split(full_name, 2, "schema")
        self.get_catalog(catalog)
        return self._read(self._schema_file(catalog, schema), f"Schema '{catalog}.{schema}'")

    def create_schema(
        self, catalog: object, name: object, comment: str | None = None, properties: dict[str, str] | None = None
    ) -> JsonObject:
        catalog_name, schema = self.get_catalog(catalog)["name"], check_name("schema", name)
        info = _schema_info(catalog_name, schema, comment, properties)
        self._write(self._schema_file(catalog_name, schema), info, exclusive=True)
        return info

    def delete_schema(self, full_name: str, force: bool = False) -> None:
        info = self.get_schema(full_name)
        catalog, schema = info["catalog_name"], info["name"]
        if not force and self._schema_has_objects(catalog, schema):
            raise UnityError(
                400,
                "INVALID_STATE",
                f"Schema '{catalog}.{schema}' is not empty: drop its tables and volumes first, or use CASCADE.",
            )
        self._drop_schema_objects(catalog, schema)
        shutil.rmtree(os.path.join(self._meta, catalog, schema), ignore_errors=True)

    def _schema_has_objects(self, catalog: str, schema: str) -> bool:
        return bool(self.list_tables(catalog, schema) or self.list_volumes(catalog, schema))

    def _drop_schema_objects(self, catalog: str, schema: str) -> None:
        for table in self.list_tables(catalog, schema):
            self.delete_table(table["full_name"])
        for volume in self.list_volumes(catalog, schema):
            self.delete_volume(volume["full_name"])

    # -- tables -----------------------------------------------------------------------------
    def list_tables(self, catalog: str, schema: str) -> list[JsonObject]:
        info = self.get_schema(f"{check_name('catalog', catalog)}.{check_name('schema', schema)}")
        return self._list(os.path.join(self._meta, info["catalog_name"], info["name"], "tables"))

    def get_table(self, full_name: str) -> JsonObject:
        catalog, schema, name = _split(full_name, 3, "table")
        self.get_schema(f"{catalog}.{schema}")
        return self._read(self._object_file("tables", catalog, schema, name), f"Table '{catalog}.{schema}.{name}'")

    def find_table(self, full_name: str) -> JsonObject | None:
        """The table's info, or None if it (or its schema or catalog) does not exist."""
        try:
            return self.get_table(full_name)
        except UnityError as e:
            if e.status == 404:
                return None
            raise

    def staging_location(self) -> str:
        """A new managed table's data folder; its last part becomes the table's id."""
        return "file://" + os.path.join(self.root, "managed", str(uuid.uuid4()))

    def create_table(self, request: JsonObject) -> JsonObject:
        catalog, schema = request.get("catalog_name"), request.get("schema_name")
        schema_info = self.get_schema(f"{check_name('catalog', catalog)}.{check_name('schema', schema)}")
        name = check_name("table", request.get("name"))
        table_type = str(request.get("table_type") or "EXTERNAL").upper()
        data_format = str(request.get("data_source_format") or "DELTA").upper()
        full_name = f"{schema_info['catalog_name']}.{schema_info['name']}.{name}"
        location = request.get("storage_location") or ""
        if table_type == "MANAGED" and data_format != "DELTA":
            raise UnityError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Managed table {full_name} must be Delta, not {data_format.lower()} (as on Databricks): write it with "
                "format('delta') (the default), or give a LOCATION for an external table.",
            )
        table_id = self._table_id(table_type, location)
        info = {
            **{k: v for k, v in request.items() if k in ("columns", "comment", "properties")},
            "name": name,
            "catalog_name": schema_info["catalog_name"],
            "schema_name": schema_info["name"],
            "full_name": full_name,
            "table_type": table_type,
            "data_source_format": data_format,
            "storage_location": location,
            "table_id": table_id,
            "created_at": _now(),
            "updated_at": _now(),
        }
        self._write(self._object_file("tables", *full_name.split(".")), info, exclusive=True)
        return info

    def _table_id(self, table_type: str, location: str) -> str:
        managed = os.path.join(self.root, "managed") + os.sep
        path = local_path(location)
        if table_type == "MANAGED" and path.startswith(managed):
            return os.path.basename(path.rstrip("/"))  # the id Sail wrote into the Delta metadata
        if table_type == "MANAGED":
            raise UnityError(
                400, "INVALID_PARAMETER_VALUE", f"Managed table location {location!r} was not staged here."
            )
        return str(uuid.uuid4())

    def delete_table(self, full_name: str) -> None:
        info = self.get_table(full_name)
        os.remove(self._object_file("tables", info["catalog_name"], info["schema_name"], info["name"]))
        if info.get("table_type") == "MANAGED":  # Databricks drops a managed table's data (after 7 days)
            shutil.rmtree(local_path(info["storage_location"]), ignore_errors=True)

    # -- volumes ----------------------------------------------------------------------------
    def list_volumes(self, catalog: str, schema: str) -> list[JsonObject]:
        info = self.get_schema(f"{check_name('catalog', catalog)}.{check_name('schema', schema)}")
        return self._list(os.path.join(self._meta, info["catalog_name"], info["name"], "volumes"))

    def get_volume(self, full_name: str) -> JsonObject:
        catalog, schema, name = _split(full_name, 3, "volume")
        self.get_schema(f"{catalog}.{schema}")
        return self._read(self._object_file("volumes", catalog, schema, name), f"Volume '{catalog}.{schema}.{name}'")

    def create_volume(self, catalog: object, schema: object, name: object, comment: str | None = None) -> JsonObject:
        schema_info = self.get_schema(f"{check_name('catalog', catalog)}.{check_name('schema', schema)}")
        catalog_name, schema_name, volume = schema_info["catalog_name"], schema_info["name"], check_name("volume", name)
        folder = volume_folder(self.volumes_root, catalog_name, schema_name, volume)
        info = {
            "name": volume,
            "catalog_name": catalog_name,
            "schema_name": schema_name,
            "full_name": f"{catalog_name}.{schema_name}.{volume}",
            "volume_type": "MANAGED",
            "storage_location": "file://" + folder,
            "volume_id": str(uuid.uuid4()),
            "comment": comment,
            "created_at": _now(),
        }
        self._write(self._object_file("volumes", catalog_name, schema_name, volume), info, exclusive=True)
        os.makedirs(folder, exist_ok=True)
        return info

    def delete_volume(self, full_name: str) -> None:
        info = self.get_volume(full_name)
        os.remove(self._object_file("volumes", info["catalog_name"], info["schema_name"], info["name"]))
        shutil.rmtree(local_path(info["storage_location"]), ignore_errors=True)  # a managed volume's files go too

    # -- Delta commits (catalog-managed tables) ---------------------------------------------
    def commit(self, request: JsonObject) -> None:
        """Ratify a Delta commit Sail staged under `_delta_log/_staged_commits`, and backfill it at once
        as `_delta_log/<version>.json`, so the table reads as a plain Delta table too."""
        location = local_path(str(request.get("table_uri") or ""))
        info = request.get("commit_info")
        if not location or not isinstance(info, dict):
            return  # a backfill notice only: every commit here is backfilled when ratified
        version, file_name = info.get("version"), os.path.basename(str(info.get("file_name") or ""))
        if not isinstance(version, int) or not file_name:
            raise UnityError(400, "INVALID_PARAMETER_VALUE", "A Delta commit needs commit_info.version and file_name.")
        log = os.path.join(location, "_delta_log")
        staged = os.path.join(log, "_staged_commits", file_name)
        with self._lock:
            if latest_version(location) != version - 1:
                raise UnityError(409, "ALREADY_EXISTS", f"Delta commit {version} of {location} conflicts: retry.")
            try:
                os.link(staged, os.path.join(log, f"{version:020d}.json"))
            except FileExistsError:
                raise UnityError(409, "ALREADY_EXISTS", f"Delta commit {version} of {location} exists.") from None
            except FileNotFoundError:
                raise UnityError(400, "INVALID_PARAMETER_VALUE", f"Staged Delta commit {staged} is missing.") from None

    @staticmethod
    def commits(request: JsonObject) -> JsonObject:
        """No commit waits for a backfill: the newest version is the one in `_delta_log`."""
        return {"commits": [], "latest_table_version": latest_version(local_path(str(request.get("table_uri") or "")))}


def latest_version(location: str) -> int:
    """The newest commit version in a Delta table's `_delta_log` (-1 if none)."""
    try:
        names = os.listdir(os.path.join(location, "_delta_log"))
    except (FileNotFoundError, NotADirectoryError):
        return -1
    return max((int(n[:20]) for n in names if n.endswith(".json") and n[:20].isdigit()), default=-1)


def _split(full_name: object, parts: int, kind: str) -> list[str]:
    names = str(full_name or "").split(".")
    if len(names) != parts:
        raise UnityError(
            400, "INVALID_PARAMETER_VALUE", f"Invalid {kind} name {full_name!r}: use {parts} dotted parts."
        )
    kinds = ("catalog", "schema", kind)[-parts:] if parts == 3 else ("catalog", "schema")
    return [check_name(k, n) for k, n in zip(kinds, names, strict=True)]


def _catalog_info(name: str, comment: str | None = None) -> JsonObject:
    return {"name": name, "comment": comment, "id": str(uuid.uuid4()), "created_at": _now()}


def _schema_info(
    catalog: str, name: str, comment: str | None = None, properties: dict[str, str] | None = None
) -> JsonObject:
    return {
        "name": name,
        "catalog_name": catalog,
        "full_name": f"{catalog}.{name}",
        "comment": comment,
        "properties": properties or {},
        "schema_id": str(uuid.uuid4()),
        "created_at": _now(),
    }
