"""The local Unity Catalog of a workspace: its metastore folder, its REST server, and Sail's settings for it.

Every Sail server of a run gets one Sail catalog of type `unity` per catalog of the metastore (and
`spark_catalog` for `hive_metastore`, as on Databricks), all pointed at one local REST server, so a
table one notebook saves is there for the next notebook, and for the next `dtflw run`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from typing import TYPE_CHECKING, Any

from dtflw.local.unity_store import UnityError, UnityStore, local_path, volume_folder

if TYPE_CHECKING:
    from dtflw.local.unity_server import UnityCatalogServer
    from dtflw.storage.tables import TableState

__all__ = ["LocalUnityCatalog", "volume_folder"]

DEFAULT_CATALOG = "main"
LEGACY_ALIAS = ("spark_catalog", "hive_metastore")


class LocalUnityCatalog:
    """The metastore in `folder` (volumes under `volumes_folder`); its REST server starts on first use."""

    def __init__(self, folder: str, volumes_folder: str):
        self.store = UnityStore(folder, volumes_folder)
        self._server: UnityCatalogServer | None = None
        self._lock = threading.Lock()

    def serve(self, store: UnityStore) -> None:
        """Serve the metastore `store` from now on (the REST server and its URL stay)."""
        self.store = store

    @property
    def url(self) -> str:
        """The REST API's base URL (the server starts now if it has not)."""
        with self._lock:
            if self._server is None:
                from dtflw.local.unity_server import UnityCatalogServer

                self._server = UnityCatalogServer(self)
            return self._server.url

    def bind_session(self, session: Any) -> None:
        """Make `session` answer for this catalog: table writes by name and the catalog's SQL statements."""
        from dtflw.local import unity_sql, unity_writes

        unity_writes.install(session, self)
        unity_sql.install(session, self)

    def sail_environment(self) -> dict[str, str]:
        """The environment a Sail server reads its catalogs from: one `unity` catalog per catalog here."""
        url = self.url
        names = [c["name"] for c in self.store.list_catalogs() if _plain(c["name"])]
        entries = [_entry(name, url, name) for name in names]
        entries.append(_entry(LEGACY_ALIAS[0], url, LEGACY_ALIAS[1]))
        return {
            "SAIL_CATALOG__LIST": "[" + ", ".join(entries) + "]",
            "SAIL_CATALOG__DEFAULT_CATALOG": DEFAULT_CATALOG,
            "UNITY_ALLOW_HTTP_URL": "true",  # the server listens on 127.0.0.1 only
        }

    def missing(self, catalog: str, schema: str, volume: str, create_volume: bool = False) -> str | None:
        """`catalog X`, `schema X.Y` or `volume X.Y.Z`: the first of them that does not exist, else None.
        With `create_volume`, a missing volume is created instead."""
        names = {"catalog": catalog, "schema": f"{catalog}.{schema}", "volume": f"{catalog}.{schema}.{volume}"}
        lookups = {"catalog": self.store.get_catalog, "schema": self.store.get_schema, "volume": self.store.get_volume}
        for kind, name in names.items():
            try:
                lookups[kind](name)
            except UnityError as e:
                if e.status != 404:
                    raise
                if kind == "volume" and create_volume:
                    self.store.create_volume(catalog, schema, volume, "dtflw's state and lineage")
                    return None
                return f"{kind} {name}"
        return None

    def state(self, ref: str) -> TableState:
        """The `TableState` of catalog table `ref` (`uc:<catalog>.<schema>.<table>`): its Delta log's, with
        the catalog's table id as its identity (a table dropped and created again is a new table)."""
        from dtflw.storage.filesystems import LocalFileSystem
        from dtflw.storage.tables import TableState, catalog_fingerprint, state_from_listing

        info = self.store.find_table(ref.split(":", 1)[1])
        if info is None:
            return TableState(path=ref, exists=False)
        folder = local_path(info["storage_location"]).rstrip("/")
        fs = LocalFileSystem()
        state = state_from_listing(folder, fs.list_files(folder), read_text=fs.read_text)
        fingerprint = catalog_fingerprint(info["table_id"], state.version) if state.exists else None
        return dataclasses.replace(state, path=ref, table_id=info["table_id"], fingerprint=fingerprint)

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None


def _entry(name: str, url: str, catalog: str) -> str:
    return f'{{name={json.dumps(name)}, type="unity", uri={json.dumps(url)}, default_catalog={json.dumps(catalog)}}}'


def _plain(name: str) -> bool:
    """Names Sail's settings can carry as they are (others stay reachable by three-part names)."""
    return all(c.isalnum() or c in "_-" for c in name)


def default_folder(state_folder: str) -> str:
    """Where a workspace keeps its metastore: `<state folder>/unity-catalog`."""
    return os.path.join(state_folder, "unity-catalog")
