"""The `sail` engine, the default: a Sail Spark Connect server on 127.0.0.1, in-process (or, holding a
storage's credentials, in a child process of its own)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from dtflw.engines import DATABRICKS_DEFAULTS, Engine, UnityCatalog
from dtflw.engines.connect import ConnectEngine
from dtflw.errors import EngineError


class SailEngine(ConnectEngine):
    """A Sail Spark Connect server on 127.0.0.1 (fast, Delta-capable), started on first use. Its
    defaults already are ANSI mode on and time zone UTC, so notebook sessions start without round trips.

    It runs in-process; when a storage hands it credentials (`add_credentials`), in a child process
    whose own environment holds them, so they never enter this process's environment."""

    name = "sail"

    @classmethod
    def create(cls, conf: dict[str, str] | None, url: str | None, **options: Any) -> SailEngine:
        """A new server of its own (`url` is not used)."""
        return cls(conf)

    def __init__(self, conf: dict[str, str] | None = None) -> None:
        self._server: Any = None  # a SailProcess, or pysail's in-process server
        self._retired: list[Any] = []  # servers replaced by one with more credentials
        self._credentials: dict[str, str] = {}
        self._catalog: UnityCatalog | None = None  # the local Unity Catalog every server of this engine uses
        Engine.__init__(self, conf)
        self.url = ""

    def use_unity_catalog(self, catalog: UnityCatalog) -> UnityCatalog:
        """Give every Sail server of this engine the local Unity Catalog `catalog` (a `LocalUnityCatalog`),
        shared by all notebook sessions; managed tables are then Delta by default, as on Databricks.
        A running server keeps its REST server: a later catalog's metastore is served by it from then on
        (a workspace made later, e.g. per test, sees its own). Returns the catalog in use."""
        if self._catalog is None:
            self._catalog = catalog
            self.conf.setdefault("spark.sql.sources.default", "delta")
        else:
            self._catalog.serve(catalog.store)
        return self._catalog

    def _catalog_environment(self) -> dict[str, str]:
        return self._catalog.sail_environment() if self._catalog is not None else {}

    def add_credentials(self, environment: Mapping[str, str]) -> None:
        """Let the server reach a storage with these environment variables. Once started, the engine
        moves to a server process that has them: notebook sessions opened from then on use it."""
        new = {k: v for k, v in environment.items() if self._credentials.get(k) != v}
        if not new:
            return
        with self._starting:
            self._credentials.update(new)
            if self._session is not None:  # the first server stays up for the sessions it has
                self._retired.append(self._server)
                self._server = SailProcess({**self._catalog_environment(), **self._credentials})
                self.url = self._server.url

    def _start(self) -> Any:
        if self._credentials:
            self._server = SailProcess({**self._catalog_environment(), **self._credentials})
            self.url = self._server.url
        else:
            os.environ.setdefault("RUST_LOG", "error")
            self._server = _in_process_server(self._catalog_environment())
            self._server.start()
            ip, port = self._server.listening_address
            self.url = f"sc://{ip}:{port}"
        return super()._start()

    def _session_conf(self) -> dict[str, str]:
        return {k: v for k, v in self.conf.items() if DATABRICKS_DEFAULTS.get(k) != v}

    def _apply_conf(self, session: Any) -> None:
        super()._apply_conf(session)
        if self._catalog is not None:
            self._catalog.bind_session(session)

    def stop(self) -> None:
        super().stop()
        self._stop_server()

    def _stop_server(self) -> None:
        for server in [*self._retired, self._server]:
            if server is not None:
                server.stop()
        self._server, self._retired = None, []
        if self._catalog is not None:
            self._catalog.stop()


_SERVER_ENVIRONMENT = threading.Lock()


def _in_process_server(environment: dict[str, str]) -> Any:
    """An in-process Sail server configured by `environment` (Sail reads its settings from the process
    environment when the server is created); the environment is restored right after."""
    from pysail.spark import SparkConnectServer

    with _SERVER_ENVIRONMENT:
        saved = {key: os.environ.get(key) for key in environment}
        os.environ.update(environment)
        try:
            return SparkConnectServer(ip="127.0.0.1", port=0)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class SailProcess:
    """`sail spark server` in a child process, with `environment` added to its own environment."""

    def __init__(self, environment: dict[str, str], timeout: float = 30.0) -> None:
        import shutil
        import socket
        import subprocess
        import sys
        import time

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sail = shutil.which("sail", path=os.path.dirname(sys.executable)) or shutil.which("sail")
        if sail is None:
            raise EngineError("The Sail server command `sail` was not found; install dtflw[local] (pysail).")
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "error"), **environment}
        self._process = subprocess.Popen(
            [sail, "spark", "server", "--ip", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"sc://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise EngineError(f"The Sail server did not start listening on 127.0.0.1:{port}.") from None
                time.sleep(0.02)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except Exception:
            self._process.kill()
