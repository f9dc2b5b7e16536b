"""A local stand-in for the Databricks workspace REST API (no local real one exists).

It follows the documented request and response shapes of the endpoints dtflw's databricks engine
touches — SCIM `Me`, `clusters/get|start` (a started cluster is PENDING for `start_polls` gets, then
RUNNING), `secrets/get|list|scopes/list`, DBFS `get-status`, `list`, `read`,
`create`/`add-block`/`close`, `put`, `move`, `mkdirs`, `delete`; the Files API of `/Volumes` (`GET|PUT|
HEAD|DELETE /api/2.0/fs/files/…`, `GET|PUT|DELETE /api/2.0/fs/directories/…`) — and their errors: 401/403 with
`PERMISSION_DENIED`, 404 `RESOURCE_DOES_NOT_EXIST`, 400 `RESOURCE_ALREADY_EXISTS`, and 429
`REQUEST_LIMIT_EXCEEDED` with a `Retry-After` header (`throttle(n)` answers the next n requests so).
"""

from __future__ import annotations

import base64
import json
import posixpath
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "dapi-fake-0123456789abcdef"


class FakeWorkspace:
    """The workspace's state: users, clusters, secret scopes, DBFS files; and a log of requests."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.user = "tester@example.com"
        self.clusters = {"0123-456789-abcdefgh": "RUNNING"}
        self.start_polls = 2  # `clusters/get` answers of a started cluster that still say PENDING
        self.answer_after = 0.0  # seconds every API request waits before its answer (a slow workspace)
        self.secrets: dict[str, dict[str, str]] = {}
        self.forbidden_scopes: set[str] = set()
        self.files: dict[str, bytes] = {}  # dbfs path → content
        self.dirs: set[str] = {"/"}
        self.volume_files: dict[str, bytes] = {}  # /Volumes/… path → content
        self.volume_times: dict[str, float] = {}  # /Volumes/… path → when written through the API (seconds)
        self.volume_dirs: set[str] = set()
        self.requests: list[tuple[str, str, int]] = []
        self._throttled = 0
        self._handles: dict[int, tuple[str, bytearray]] = {}
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        workspace = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                workspace._handle(self, "GET")

            def do_POST(self):  # noqa: N802
                workspace._handle(self, "POST")

            def do_PUT(self):  # noqa: N802
                workspace._handle(self, "PUT")

            def do_HEAD(self):  # noqa: N802
                workspace._handle(self, "HEAD")

            def do_DELETE(self):  # noqa: N802
                workspace._handle(self, "DELETE")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def throttle(self, n: int) -> None:
        """Answer the next `n` API requests with 429 and `Retry-After: 1`."""
        self._throttled = n

    def calls(self, path: str) -> list[int]:
        """The statuses answered to requests of `path`, in order."""
        return [status for _, p, status in self.requests if p == path]

    # -- dispatch -------------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        time.sleep(self.answer_after)
        if url.path.startswith("/.well-known/"):
            return self._reply(request, method, url.path, 404, {"error_code": "NOT_FOUND", "message": "Not found"})
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._reply(
                request, method, url.path, 403, {"error_code": "PERMISSION_DENIED", "message": "Invalid access token."}
            )
        with self._lock:
            if self._throttled:
                self._throttled -= 1
                error = {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests."}
                return self._reply(request, method, url.path, 429, error, {"Retry-After": "1"})
            if url.path.startswith(("/api/2.0/fs/files/", "/api/2.0/fs/directories/")):
                return self._files_api(request, method, url.path, query, raw)
            body = json.loads(raw or b"{}")
            route = getattr(self, "_" + url.path.strip("/").replace("/", "_").replace("-", "_").replace(".", "_"), None)
            if route is None:
                status, payload = 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{url.path}'"}
            else:
                status, payload = route({**query, **body})
        self._reply(request, method, url.path, status, payload)

    def _reply(self, request, method: str, path: str, status: int, payload, headers=None) -> None:
        self.requests.append((method, path, status))
        binary = isinstance(payload, bytes)
        data = payload if binary else json.dumps(payload).encode() if payload is not None else b""
        request.send_response(status)
        request.send_header("Content-Type", "application/octet-stream" if binary else "application/json")
        if "Content-Length" not in (headers or {}):
            request.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        if method != "HEAD":
            request.wfile.write(data)

    # -- SCIM and clusters ----------------------------------------------------------------------
    def _api_2_0_preview_scim_v2_Me(self, params):  # noqa: N802 - the endpoint's name
        return 200, {"id": "1", "userName": self.user, "active": True}

    def _api_2_1_clusters_get(self, params):
        cluster = params.get("cluster_id", "")
        if cluster not in self.clusters:
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Cluster {cluster} does not exist"}
        state = self.clusters[cluster]
        if state == "PENDING":
            self._pending[cluster] = self._pending.get(cluster, self.start_polls) - 1
            self.clusters[cluster] = "RUNNING" if self._pending[cluster] < 0 else state
        return 200, {"cluster_id": cluster, "state": state, "spark_version": "17.3.x-scala2.13"}

    def _api_2_1_clusters_start(self, params):
        """Starts a TERMINATED cluster (PENDING, then RUNNING); in any other state nothing happens."""
        cluster = params.get("cluster_id", "")
        if cluster not in self.clusters:
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Cluster {cluster} does not exist"}
        if self.clusters[cluster] == "TERMINATED":
            self.clusters[cluster] = "PENDING"
        return 200, {}

    # -- secrets --------------------------------------------------------------------------------
    def _scope(self, scope: str):
        if scope in self.forbidden_scopes:
            return None, (403, {"error_code": "PERMISSION_DENIED", "message": f"User does not have READ on {scope}"})
        if scope not in self.secrets:
            return None, (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Scope {scope} does not exist!"})
        return self.secrets[scope], None

    def _api_2_0_secrets_get(self, params):
        keys, error = self._scope(params.get("scope", ""))
        if error:
            return error
        key = params.get("key", "")
        if key not in keys:
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Failed to get secret {key}"}
        return 200, {"key": key, "value": base64.b64encode(keys[key].encode()).decode()}

    def _api_2_0_secrets_list(self, params):
        keys, error = self._scope(params.get("scope", ""))
        if error:
            return error
        return 200, {"secrets": [{"key": k, "last_updated_timestamp": 0} for k in sorted(keys)]}

    def _api_2_0_secrets_scopes_list(self, params):
        return 200, {"scopes": [{"name": s, "backend_type": "DATABRICKS"} for s in sorted(self.secrets)]}

    # -- DBFS -----------------------------------------------------------------------------------
    def _info(self, path: str) -> dict:
        if path in self.dirs:
            return {"path": path, "is_dir": True, "file_size": 0, "modification_time": int(time.time() * 1000)}
        return {"path": path, "is_dir": False, "file_size": len(self.files[path]), "modification_time": 0}

    @staticmethod
    def _missing(path: str):
        return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"No file or directory exists on path {path}."}

    def _api_2_0_dbfs_get_status(self, params):
        path = params.get("path", "")
        if path not in self.files and path not in self.dirs:
            return self._missing(path)
        return 200, self._info(path)

    def _api_2_0_dbfs_list(self, params):
        path = params.get("path", "").rstrip("/") or "/"
        if path in self.files:
            return 200, {"files": [self._info(path)]}
        if path not in self.dirs:
            return self._missing(path)
        children = {p for p in self.files.keys() | self.dirs if p != path and posixpath.dirname(p) == path}
        return 200, {"files": [self._info(p) for p in sorted(children)]} if children else {}

    def _api_2_0_dbfs_read(self, params):
        path = params.get("path", "")
        if path not in self.files:
            return self._missing(path)
        offset, length = int(params.get("offset", 0)), int(params.get("length", 1 << 20))
        chunk = self.files[path][offset : offset + length]
        return 200, {"bytes_read": len(chunk), "data": base64.b64encode(chunk).decode()}

    def _write(self, path: str, data: bytes, overwrite: bool):
        if path in self.files and not overwrite:
            return 400, {
                "error_code": "RESOURCE_ALREADY_EXISTS",
                "message": f"A file or directory already exists at {path}.",
            }
        self._mkdirs(posixpath.dirname(path))
        self.files[path] = data
        return 200, {}

    def _api_2_0_dbfs_put(self, params):
        return self._write(params["path"], base64.b64decode(params.get("contents", "")), bool(params.get("overwrite")))

    def _api_2_0_dbfs_create(self, params):
        path = params["path"]
        if path in self.files and not params.get("overwrite"):
            return 400, {
                "error_code": "RESOURCE_ALREADY_EXISTS",
                "message": f"A file or directory already exists at {path}.",
            }
        handle = len(self._handles) + 1
        self._handles[handle] = (path, bytearray())
        return 200, {"handle": handle}

    def _api_2_0_dbfs_add_block(self, params):
        self._handles[int(params["handle"])][1].extend(base64.b64decode(params["data"]))
        return 200, {}

    def _api_2_0_dbfs_close(self, params):
        path, data = self._handles.pop(int(params["handle"]))
        return self._write(path, bytes(data), True)

    def _mkdirs(self, path: str) -> None:
        while path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def _api_2_0_dbfs_mkdirs(self, params):
        self._mkdirs(params["path"].rstrip("/"))
        return 200, {}

    def _api_2_0_dbfs_move(self, params):
        source, dest = params["source_path"], params["destination_path"]
        if source not in self.files:
            return self._missing(source)
        self._mkdirs(posixpath.dirname(dest))
        self.files[dest] = self.files.pop(source)
        return 200, {}

    def _api_2_0_dbfs_delete(self, params):
        path = params["path"].rstrip("/")
        below = [p for p in self.files.keys() | self.dirs if p.startswith(path + "/")]
        if below and not params.get("recursive"):
            return 400, {"error_code": "IO_ERROR", "message": f"Directory {path} is not empty; use recursive."}
        for p in [*below, path]:
            self.files.pop(p, None)
            self.dirs.discard(p)
        return 200, {}

    # -- Files API (/Volumes) -------------------------------------------------------------------
    def _files_api(self, request, method: str, api_path: str, query: dict, raw: bytes) -> None:
        kind, path = api_path[len("/api/2.0/fs/") :].split("/", 1)
        path = "/" + path.rstrip("/")
        missing = {"error_code": "NOT_FOUND", "message": f"The file or directory {path} does not exist."}
        if kind == "directories":
            if method == "PUT":
                self._volume_mkdirs(path)
                return self._reply(request, method, api_path, 204, None)
            if path not in self.volume_dirs:
                return self._reply(request, method, api_path, 404, missing)
            children = {p for p in self.volume_files.keys() | self.volume_dirs if posixpath.dirname(p) == path}
            if method == "DELETE":
                if children:
                    error = {"error_code": "FAILED_PRECONDITION", "message": f"Directory {path} is not empty."}
                    return self._reply(request, method, api_path, 409, error)
                self.volume_dirs.discard(path)
                return self._reply(request, method, api_path, 204, None)
            contents = [
                {
                    "path": p + ("/" if p in self.volume_dirs else ""),
                    "name": posixpath.basename(p),
                    "is_directory": p in self.volume_dirs,
                    **(
                        {}
                        if p in self.volume_dirs
                        else {
                            "file_size": len(self.volume_files[p]),
                            "last_modified": int(self.volume_times.get(p, 0) * 1000),
                        }
                    ),
                }
                for p in sorted(children)
            ]
            return self._reply(request, method, api_path, 200, {"contents": contents})
        if method == "PUT":
            if path in self.volume_files and query.get("overwrite") != "true":
                error = {"error_code": "ALREADY_EXISTS", "message": f"The file {path} already exists."}
                return self._reply(request, method, api_path, 409, error)
            self._volume_mkdirs(posixpath.dirname(path))
            self.volume_files[path], self.volume_times[path] = raw, time.time()
            return self._reply(request, method, api_path, 204, None)
        if path not in self.volume_files:
            return self._reply(request, method, api_path, 404, None if method == "HEAD" else missing)
        if method == "DELETE":
            del self.volume_files[path]
            return self._reply(request, method, api_path, 204, None)
        if method == "HEAD":
            headers = {"Content-Length": str(len(self.volume_files[path]))}
            if path in self.volume_times:
                headers["Last-Modified"] = formatdate(self.volume_times[path], usegmt=True)
            return self._reply(request, method, api_path, 200, None, headers)
        return self._reply(request, method, api_path, 200, self.volume_files[path])

    def _volume_mkdirs(self, path: str) -> None:
        while path.count("/") > 1 and path not in self.volume_dirs:
            self.volume_dirs.add(path)
            path = posixpath.dirname(path)
