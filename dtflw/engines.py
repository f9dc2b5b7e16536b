"""Spark engines for local runs: `sail` (in-process Sail server), `spark` (JVM), `remote` (any sc:// URL).

Each engine gives one main session and a fresh session per notebook run, as Databricks gives each
notebook run by `dbutils.notebook.run` its own session (temp views are not shared; global temp
views and tables are). Databricks-like defaults: ANSI SQL on, session time zone UTC.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from typing import Protocol, runtime_checkable

from dtflw.errors import EngineError, EngineUnavailableError

DATABRICKS_DEFAULTS = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
}


@runtime_checkable
class WithUnityCatalog(Protocol):
    """An engine whose sessions can use the local Unity Catalog (sail)."""

    def use_unity_catalog(self, catalog): ...


@runtime_checkable
class WithStorageCredentials(Protocol):
    """An engine that takes a storage's credentials into its own process (sail), never this one's."""

    def add_credentials(self, environment) -> None: ...


@runtime_checkable
class WithWorkspaceUtils(Protocol):
    """An engine on a Databricks workspace, whose `dbutils.fs` and secrets are the workspace's (databricks)."""

    def workspace_utils(self, revealed: set[str]): ...


class Engine:
    """A running Spark engine: `session` is the main one; `new_session()` an isolated one."""

    name = "engine"

    def __init__(self, conf: dict[str, str] | None = None):
        self.conf = {**DATABRICKS_DEFAULTS, **(conf or {})}
        self._session = None
        self._starting = threading.Lock()  # notebooks running in parallel may all start it at once
        self._opened: weakref.WeakSet = weakref.WeakSet()  # notebook sessions, closed when the engine stops

    @property
    def session(self):
        """The main session; the engine starts on first use."""
        if self._session is None:
            with self._starting:
                if self._session is None:
                    self._session = self._start()
        return self._session

    def preflight(self) -> None:
        """Check the configuration before any notebook runs (the engine itself starts on first use)."""

    def new_session(self):
        """A session of its own for one notebook run."""
        return self.session.newSession()

    def _start(self):
        raise NotImplementedError

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class ConnectEngine(Engine):
    """A Spark Connect server reached at `url` (sc://host:port)."""

    name = "remote"

    def __init__(self, url: str, conf: dict[str, str] | None = None):
        if not url.startswith("sc://"):
            raise EngineError(f"Remote engine URL {url!r} must start with 'sc://' (e.g. sc://127.0.0.1:15002).")
        super().__init__(conf)
        self.url = url

    def _builder(self):
        from pyspark.sql import SparkSession

        return SparkSession.builder.remote(self.url)

    def _start(self):
        session = self._builder().create()  # its own session: never another engine's default one
        _install_display()
        self._apply_conf(session)
        return session

    def _session_conf(self) -> dict[str, str]:
        """The settings every new session needs (one round trip each)."""
        return self.conf

    def _apply_conf(self, session) -> None:
        for key, value in self._session_conf().items():
            session.conf.set(key, value)

    def new_session(self):
        self.session  # noqa: B018 - start the engine before the first notebook session
        session = self._builder().create()
        self._apply_conf(session)
        self._opened.add(session)
        return session

    def stop(self) -> None:
        """Close every session opened here while the server still answers: a Connect client left open
        talks to its server at interpreter exit, and waits out its retries when the server is gone."""
        for session in list(self._opened):
            with contextlib.suppress(Exception):
                session.stop()
        self._opened.clear()
        super().stop()


class SailEngine(ConnectEngine):
    """A Sail Spark Connect server on 127.0.0.1 (fast, Delta-capable), started on first use. Its
    defaults already are ANSI mode on and time zone UTC, so notebook sessions start without round trips.

    It runs in-process; when a storage hands it credentials (`add_credentials`), in a child process
    whose own environment holds them, so they never enter this process's environment."""

    name = "sail"

    def __init__(self, conf: dict[str, str] | None = None):
        self._server = None
        self._retired: list = []  # servers replaced by one with more credentials
        self._credentials: dict[str, str] = {}
        self._catalog = None  # the local Unity Catalog every server of this engine uses
        Engine.__init__(self, conf)
        self.url = ""

    def use_unity_catalog(self, catalog):
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

    def add_credentials(self, environment) -> None:
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

    def _start(self):
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

    def _apply_conf(self, session) -> None:
        super()._apply_conf(session)
        if self._catalog is not None:
            from dtflw.local import unity_sql, unity_writes

            unity_writes.install(session, self._catalog)
            unity_sql.install(session, self._catalog)

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


def _in_process_server(environment: dict[str, str]):
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

    def __init__(self, environment: dict[str, str], timeout: float = 30.0):
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


class JvmEngine(Engine):
    """Classic local JVM pyspark (`local[2]`); Delta only with delta-spark installed and its jars reachable.

    pyspark cannot mix classic and Spark Connect sessions in one process (a Connect session switches
    the whole process to Connect mode), so use it in a process of its own.
    """

    name = "spark"

    def add_credentials(self, environment) -> None:
        """Refuse a storage whose file system needs jars this engine lacks (no Maven here: no hadoop-aws,
        no GCS connector); Azure's settings are ignored, as before."""
        jars = getattr(environment, "hadoop_jars", None)
        if jars:
            raise EngineUnavailableError(
                f"The JVM engine ('spark') cannot reach this storage: it needs {jars} on its class path, which "
                "the pyspark wheel does not ship. Use the default engine (--engine sail), or a remote or "
                "databricks engine that has them."
            )

    def _start(self):
        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            SparkSession.builder.master("local[2]")
            .appName("dtflw")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "4")
        )
        for key, value in self.conf.items():
            builder = builder.config(key, value)
        from dtflw import jvm_delta

        session = jvm_delta.start(*jvm_delta.with_delta(builder))  # Delta when delta-spark is installed
        session.sparkContext.setLogLevel("ERROR")
        _install_display()
        return session


def _databricks(conf, url, **compute):
    from dtflw.engine_databricks import DatabricksEngine

    return DatabricksEngine(conf, url=url, **compute)


_FACTORIES = {
    "sail": lambda conf, url, **_: SailEngine(conf),
    "spark": lambda conf, url, **_: JvmEngine(conf),
    "remote": lambda conf, url, **_: ConnectEngine(url or os.environ.get("SPARK_REMOTE", ""), conf),
    "databricks": _databricks,
}


def register_engine(name: str, factory) -> None:
    """Make `create_engine(name, conf, url, **options)` call `factory(conf, url, **options)`."""
    _FACTORIES[name] = factory


def engine_names() -> tuple[str, ...]:
    return tuple(_FACTORIES)


def create_engine(name: str = "sail", conf: dict[str, str] | None = None, url: str | None = None, **options) -> Engine:
    """The engine called `name`, not started: it starts when a notebook first uses Spark. `remote` needs
    `url` (or $SPARK_REMOTE); `databricks` takes the compute (`profile=`, `cluster_id=` or `serverless=`,
    else databricks-sdk's unified config) or an sc:// `url`."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise EngineError(f"Unknown engine {name!r}; use one of: {', '.join(_FACTORIES)}.")
    return factory(conf, url, **options)


def _install_display() -> None:
    """Give DataFrames Databricks' `df.display()`."""
    from pyspark.sql import DataFrame
    from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame

    from dtflw.local.display import display

    for cls in (DataFrame, ConnectDataFrame):
        if not hasattr(cls, "display"):
            cls.display = display
