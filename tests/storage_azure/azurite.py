"""Azurite (npm) blob service on a free loopback port, with its access log kept to count requests.

Used by the tests' fixtures and by `bench/bench_azure_exists.py`. Azurite prints one access-log line
per request it receives, so counting those lines counts requests on the server side.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AZURITE_BIN = os.path.join(REPO, "node_modules", ".bin", "azurite-blob")
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_REQUEST = re.compile(r'"(GET|PUT|HEAD|POST|DELETE|PATCH|OPTIONS) (\S+) HTTP/')


def missing_reason() -> str | None:
    """Why Azurite cannot start here, or None."""
    if not os.path.exists(AZURITE_BIN):
        return f"Azurite is not installed ({AZURITE_BIN} missing): run `npm ci` in {REPO}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    """One Azurite blob service; in memory unless `location` (a folder) keeps data across restarts."""

    def __init__(self, location: str | None = None, port: int | None = None):
        self.location = location
        self.port = port or free_port()
        self._process: subprocess.Popen | None = None
        self._lines: list[str] = []
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={self.endpoint};"

    def create_container(self) -> str:
        """A new container with a unique name."""
        from azure.storage.blob import BlobServiceClient

        name = f"t-{uuid.uuid4().hex[:12]}"
        BlobServiceClient(self.endpoint, credential={"account_name": ACCOUNT, "account_key": KEY}).create_container(
            name
        )
        return name

    def container_client(self, name: str):
        """An azure-storage-blob client of container `name`, to set up blobs directly."""
        from azure.storage.blob import ContainerClient

        return ContainerClient(self.endpoint, name, credential={"account_name": ACCOUNT, "account_key": KEY})

    def start(self) -> Azurite:
        persistence = ["--location", self.location] if self.location else ["--inMemoryPersistence"]
        command = [AZURITE_BIN, "--blobHost", "127.0.0.1", "--blobPort", str(self.port), *persistence]
        command += ["--skipApiVersionCheck", "--loose", "--disableTelemetry"]  # not --silent: keep the access log
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, args=(self._process,), daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"Azurite exited with {self._process.returncode}: {''.join(self._lines)[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Azurite did not listen on port {self.port} within 30 s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
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
        deadline = time.monotonic() + timeout
        seen = len(self.requests())
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = len(self.requests())
            if now != seen:
                seen, last_change = now, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                break
        return self.requests()
