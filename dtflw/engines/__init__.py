"""Spark engines: `sail` (in-process Sail server, the default), `spark` (classic JVM), `remote` (any sc://
URL), `databricks` (databricks-connect to a workspace's compute), and any engine a package registers in the
`dtflw.engines` entry-point group (an `Engine` subclass) or with `register_engine`.

Each engine gives one main session and a fresh session per notebook run, as Databricks gives each
notebook run by `dbutils.notebook.run` its own session (temp views are not shared; global temp
views and tables are). Databricks-like defaults: ANSI SQL on, session time zone UTC. What only some
engines can do is a `typing.Protocol` checked with `isinstance`: `WithUnityCatalog`,
`WithStorageCredentials`, `WithWorkspaceUtils`.
"""

from __future__ import annotations

import importlib
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol, Self, cast, runtime_checkable

from dtflw.engines.display import install_dataframe_display
from dtflw.errors import EngineError

ENTRY_POINT_GROUP = "dtflw.engines"
_BUILTIN = {
    "sail": "dtflw.engines.sail:SailEngine",
    "spark": "dtflw.engines.jvm:JvmEngine",
    "remote": "dtflw.engines.connect:ConnectEngine",
    "databricks": "dtflw.engines.databricks:DatabricksEngine",
}
BUILTIN_ENGINES = tuple(_BUILTIN)
_registered: dict[str, Callable[..., Engine]] = {}

DATABRICKS_DEFAULTS = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
}


class UnityCatalog(Protocol):
    """The local Unity Catalog an engine's sessions use (`dtflw.local`'s `LocalUnityCatalog`)."""

    store: Any

    def serve(self, store: Any) -> None: ...

    def bind_session(self, session: Any) -> None: ...

    def sail_environment(self) -> dict[str, str]: ...

    def stop(self) -> None: ...


@runtime_checkable
class WithUnityCatalog(Protocol):
    """An engine whose sessions can use the local Unity Catalog (sail)."""

    def use_unity_catalog(self, catalog: UnityCatalog) -> UnityCatalog: ...


@runtime_checkable
class WithStorageCredentials(Protocol):
    """An engine that takes a storage's credentials into its own process (sail), never this one's."""

    def add_credentials(self, environment: Mapping[str, str]) -> None: ...


@runtime_checkable
class WithWorkspaceUtils(Protocol):
    """An engine on a Databricks workspace, whose `dbutils.fs` and secrets are the workspace's (databricks)."""

    def workspace_utils(self, revealed: set[str]) -> tuple[Any, Any] | None: ...


class Engine:
    """A running Spark engine: `session` is the main one; `new_session()` an isolated one."""

    name = "engine"

    @classmethod
    def create(cls, conf: dict[str, str] | None, url: str | None, **options: Any) -> Engine:
        """The engine for `create_engine(name, conf, url, **options)` (an engine needing no URL ignores it)."""
        return cls(conf)

    def __init__(self, conf: dict[str, str] | None = None) -> None:
        self.conf = {**DATABRICKS_DEFAULTS, **(conf or {})}
        self._session: Any = None  # a pyspark SparkSession, classic or Connect
        self._starting = threading.Lock()  # notebooks running in parallel may all start it at once
        self._opened: weakref.WeakSet[Any] = weakref.WeakSet()  # notebook sessions, closed when the engine stops

    @property
    def session(self) -> Any:
        """The main session; the engine starts on first use (DataFrames then have `df.display()`)."""
        if self._session is None:
            with self._starting:
                if self._session is None:
                    self._session = self._start()
                    install_dataframe_display()
        return self._session

    def preflight(self) -> None:
        """Check the configuration before any notebook runs (the engine itself starts on first use)."""

    def new_session(self) -> Any:
        """A session of its own for one notebook run."""
        return self.session.newSession()

    def _start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def register_engine(name: str, factory: Callable[..., Engine]) -> None:
    """Make `create_engine(name, conf, url, **options)` call `factory(conf, url, **options)` (or, for an
    `Engine` subclass, its `create`)."""
    _registered[name] = factory


def engine_names() -> tuple[str, ...]:
    """Every engine `create_engine` knows: built in, registered, and from entry points."""
    from importlib.metadata import entry_points

    plugins = [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return tuple(dict.fromkeys([*_BUILTIN, *_registered, *plugins]))


def create_engine(
    name: str = "sail", conf: dict[str, str] | None = None, url: str | None = None, **options: Any
) -> Engine:
    """The engine called `name`, not started: it starts when a notebook first uses Spark. `remote` needs
    `url` (or $SPARK_REMOTE); `databricks` takes the compute (`profile=`, `cluster_id=` or `serverless=`,
    else databricks-sdk's unified config) or an sc:// `url`."""
    factory = _factory(name)
    if isinstance(factory, type) and issubclass(factory, Engine):
        return factory.create(conf, url, **options)
    return cast(Callable[..., Engine], factory)(conf, url, **options)  # a function, or a class that is no Engine


def _factory(name: str) -> Callable[..., Engine]:
    if name in _registered:
        return _registered[name]
    target = _BUILTIN.get(name)
    if target is None:
        from importlib.metadata import entry_points

        plugins = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        if name not in plugins:
            raise EngineError(
                f"Unknown engine {name!r}; use one of: {', '.join(engine_names())}, or install a package that "
                f"registers it in the {ENTRY_POINT_GROUP!r} entry-point group."
            )
        register_engine(name, plugins[name].load())
        return _registered[name]
    return _load(target)


def _load(target: str) -> type[Engine]:
    """The built-in engine class at `target` ("module:Class"), its module imported now."""
    module, attribute = target.split(":")
    engine: type[Engine] = getattr(importlib.import_module(module), attribute)
    return engine


def __getattr__(name: str) -> type[Engine]:
    """The engine classes by name (`from dtflw.engines import SailEngine`), imported only when asked for."""
    for target in _BUILTIN.values():
        if target.endswith(f":{name}"):
            return _load(target)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
