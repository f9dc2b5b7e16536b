"""Spark engines for local runs: `sail` (in-process Sail server), `spark` (JVM), `remote` (any sc:// URL).

Each engine gives one main session and a fresh session per notebook run, as Databricks gives each
notebook run by `dbutils.notebook.run` its own session (temp views are not shared; global temp
views and tables are). Databricks-like defaults: ANSI SQL on, session time zone UTC.
"""

from __future__ import annotations

import os

from dtflw.errors import EngineError

ENGINES = ("sail", "spark", "remote", "databricks")
DATABRICKS_DEFAULTS = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
}


class Engine:
    """A running Spark engine: `session` is the main one; `new_session()` an isolated one."""

    name = "engine"

    def __init__(self, conf: dict[str, str] | None = None):
        self.conf = {**DATABRICKS_DEFAULTS, **(conf or {})}
        self._session = None

    @property
    def session(self):
        if self._session is None:
            self._session = self._start()
        return self._session

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
        return session


class SailEngine(ConnectEngine):
    """An in-process Sail Spark Connect server on 127.0.0.1 (fast, Delta-capable). Its defaults
    already are ANSI mode on and time zone UTC, so notebook sessions start without round trips."""

    name = "sail"

    def __init__(self, conf: dict[str, str] | None = None):
        self._server = None
        Engine.__init__(self, conf)
        self.url = ""

    def _start(self):
        os.environ.setdefault("RUST_LOG", "error")
        from pysail.spark import SparkConnectServer

        self._server = SparkConnectServer(ip="127.0.0.1", port=0)
        self._server.start()
        ip, port = self._server.listening_address
        self.url = f"sc://{ip}:{port}"
        return super()._start()

    def _session_conf(self) -> dict[str, str]:
        return {k: v for k, v in self.conf.items() if DATABRICKS_DEFAULTS.get(k) != v}

    def stop(self) -> None:
        super().stop()
        if self._server is not None:
            self._server.stop()
            self._server = None


class JvmEngine(Engine):
    """Classic local JVM pyspark (`local[2]`); Delta only with delta-spark installed and its jars reachable.

    pyspark cannot mix classic and Spark Connect sessions in one process (a Connect session switches
    the whole process to Connect mode), so use it in a process of its own.
    """

    name = "spark"

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


def create_engine(
    name: str = "sail",
    conf: dict[str, str] | None = None,
    url: str | None = None,
    *,
    profile: str | None = None,
    cluster_id: str | None = None,
    serverless: bool = False,
) -> Engine:
    """The engine called `name`; `remote` needs `url` (or $SPARK_REMOTE); `databricks` takes the compute
    (`profile`, `cluster_id` or `serverless`, else databricks-sdk's unified config) or an sc:// `url`."""
    if name == "sail":
        return SailEngine(conf)
    if name == "spark":
        return JvmEngine(conf)
    if name == "remote":
        return ConnectEngine(url or os.environ.get("SPARK_REMOTE", ""), conf)
    if name == "databricks":
        from dtflw.engine_databricks import DatabricksEngine

        return DatabricksEngine(conf, url=url, profile=profile, cluster_id=cluster_id, serverless=serverless)
    raise EngineError(f"Unknown engine {name!r}; use one of: {', '.join(ENGINES)}.")


def _install_display() -> None:
    """Give DataFrames Databricks' `df.display()`."""
    from pyspark.sql import DataFrame
    from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame

    from dtflw.local.display import display

    for cls in (DataFrame, ConnectDataFrame):
        if not hasattr(cls, "display"):
            cls.display = display
