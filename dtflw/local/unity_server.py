"""A local Unity Catalog REST server (the open-source API 2.1) over a `UnityStore`, for Sail's `unity` catalogs.

Sail's `unity` catalog provider speaks this API; pointing every Sail server of a run at one of these
gives all notebook sessions one metastore, kept in files under the local workspace. It answers the
requests Sail makes (measured with pysail 0.7.2): catalogs, schemas, tables, staging tables (managed
tables' locations), volumes and Delta commits (`/delta/preview/commits`), with the API's error shape
`{"error_code", "message"}`. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlparse

from dtflw.local.unity_store import JsonObject, UnityError, UnityStore

if TYPE_CHECKING:
    from dtflw.local.unity_catalog import LocalUnityCatalog

API = "/api/2.1/unity-catalog"
Query = dict[str, list[str]]  # a request's query parameters, as `parse_qs` gives them


class UnityCatalogServer:
    """The server of `catalog.store` (looked up per request) on 127.0.0.1 (a free port), serving from a
    daemon thread until `stop()`."""

    def __init__(self, catalog: LocalUnityCatalog):
        handler = type("Handler", (_Handler,), {"catalog": catalog})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="unity-catalog", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's address names its host as text
        return f"http://{host}:{port}{API}"

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def _route(store: UnityStore, method: str, parts: list[str], query: Query, body: JsonObject) -> JsonObject | None:
    """The answer of the API call `method /<parts>`, or None if the API has no such call."""
    kind, name = parts[0], parts[1] if len(parts) > 1 else None
    if kind == "catalogs":
        return _catalogs(store, method, name, query, body)
    if kind == "schemas":
        return _schemas(store, method, name, query, body)
    if kind == "tables":
        return _tables(store, method, name, query, body)
    if kind == "volumes":
        return _volumes(store, method, name, query, body)
    if kind == "staging-tables" and method == "POST":
        location = store.staging_location()
        return {**body, "id": location.rsplit("/", 1)[-1], "staging_location": location}
    if parts[:3] == ["delta", "preview", "commits"]:
        if method == "GET":
            return store.commits(body)
        store.commit(body)
        return {}
    return None


def _force(query: Query) -> bool:
    return query.get("force", ["false"])[0].lower() == "true"


def _catalogs(store: UnityStore, method: str, name: str | None, query: Query, body: JsonObject) -> JsonObject | None:
    if method == "GET":
        return store.get_catalog(name) if name else {"catalogs": store.list_catalogs()}
    if method == "POST" and not name:
        return store.create_catalog(body.get("name"), body.get("comment"))
    if method == "DELETE" and name:
        store.delete_catalog(name, _force(query))
        return {}
    return None


def _schemas(store: UnityStore, method: str, name: str | None, query: Query, body: JsonObject) -> JsonObject | None:
    if method == "GET":
        return store.get_schema(name) if name else {"schemas": store.list_schemas(query.get("catalog_name", [""])[0])}
    if method == "POST" and not name:
        return store.create_schema(
            body.get("catalog_name"), body.get("name"), body.get("comment"), body.get("properties")
        )
    if method == "DELETE" and name:
        store.delete_schema(name, _force(query))
        return {}
    return None


def _tables(store: UnityStore, method: str, name: str | None, query: Query, body: JsonObject) -> JsonObject | None:
    if method == "GET" and name:
        return store.get_table(name)
    if method == "GET":
        return {"tables": store.list_tables(query.get("catalog_name", [""])[0], query.get("schema_name", [""])[0])}
    if method == "POST" and not name:
        return store.create_table(body)
    if method == "DELETE" and name:
        store.delete_table(name)
        return {}
    return None


def _volumes(store: UnityStore, method: str, name: str | None, query: Query, body: JsonObject) -> JsonObject | None:
    if method == "GET" and name:
        return store.get_volume(name)
    if method == "GET":
        return {"volumes": store.list_volumes(query.get("catalog_name", [""])[0], query.get("schema_name", [""])[0])}
    if method == "POST" and not name:
        return store.create_volume(
            body.get("catalog_name"), body.get("schema_name"), body.get("name"), body.get("comment")
        )
    if method == "DELETE" and name:
        store.delete_volume(name)
        return {}
    return None


class _Handler(BaseHTTPRequestHandler):
    catalog: LocalUnityCatalog  # whose `store` answers (set on the subclass each server makes)
    protocol_version = "HTTP/1.1"  # Sail keeps its connections open
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall per answer

    def log_message(self, *args: object) -> None:  # quiet: Sail polls tables often
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        url = urlparse(self.path)
        try:
            body = self._body()
            if not url.path.startswith(API + "/"):
                raise UnityError(404, "ENDPOINT_NOT_FOUND", f"No API at {url.path}.")
            parts = [unquote(p) for p in url.path[len(API) + 1 :].split("/") if p]
            answer = _route(self.catalog.store, method, parts or [""], parse_qs(url.query), body)
            if answer is None:
                raise UnityError(
                    501, "NOT_IMPLEMENTED", f"{method} {url.path} is not emulated by the local Unity Catalog."
                )
            self._send(200, answer)
        except UnityError as e:
            self._send(e.status, {"error_code": e.error_code, "message": e.message})
        except Exception as e:  # a bug here must answer, not hang Sail's request
            self._send(500, {"error_code": "INTERNAL", "message": f"{type(e).__name__}: {e}"})

    def _body(self) -> JsonObject:
        length = int(self.headers.get("Content-Length") or 0)  # Sail sends a body with GET commits too
        if not length:
            return {}
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            raise UnityError(400, "MALFORMED_REQUEST", "The request body is not JSON.") from None
        if not isinstance(body, dict):
            raise UnityError(400, "MALFORMED_REQUEST", "The request body must be a JSON object.")
        return body

    def _send(self, status: int, answer: JsonObject) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
