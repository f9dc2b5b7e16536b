"""A notebook's builtins, where Spark starts on first use: a notebook that never touches Spark starts
no engine and imports no pyspark.

Two things start the notebook's session, as if it had always been there (as on Databricks): reading
the name `spark` (a lookup that misses the notebook's globals falls through to its builtins, which
answer it), and importing pyspark — from the notebook or a module it imports — since DataFrame
functions such as `F.udf` look for the active session.
"""

from __future__ import annotations

import builtins
import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dtflw.runtime import Runtime

ImportFunction = Callable[..., ModuleType]  # `__import__`: (name, globals, locals, fromlist, level) → module


class NotebookBuiltins(dict[str, Any]):  # a namespace, as `vars(builtins)`: any object by name
    """Python's builtins (or `base`, the notebook's own, whose `__import__` is wrapped in place so the
    modules sharing it start Spark too), plus `spark` on demand."""

    def __init__(self, runtime: Runtime, base: dict[str, Any] | None = None):
        base = dict(vars(builtins)) if base is None else base
        base["__import__"] = _starting_spark_on_pyspark(base["__import__"], runtime)
        super().__init__(base)
        self._runtime = runtime

    def __missing__(self, name: str) -> Any:  # the notebook's Spark session
        if name != "spark":
            raise KeyError(name)
        session = self["spark"] = self._runtime.spark
        return session


def _starting_spark_on_pyspark(import_: ImportFunction, runtime: Runtime) -> ImportFunction:
    def import_starting_spark(
        name: str,
        globals: Mapping[str, object] | None = None,  # noqa: A002 - `__import__`'s names
        locals: Mapping[str, object] | None = None,  # noqa: A002
        fromlist: Sequence[str] = (),
        level: int = 0,
    ) -> ModuleType:
        module = import_(name, globals, locals, fromlist, level)
        if not level and name.partition(".")[0] == "pyspark" and not runtime.spark_started:
            runtime.spark  # noqa: B018 - the notebook's session, now the active one
        return module

    return import_starting_spark


def made_active(session: Any) -> Any:
    """`session`, made the active Spark Connect session of this thread, as a notebook's `spark` is on
    Databricks: `SparkSession.getActiveSession()` in its modules answers it. (A classic session is found
    through the JVM, where pyspark wraps it anew each time.)"""
    connect = sys.modules.get("pyspark.sql.connect.session")
    if connect is not None and isinstance(session, connect.SparkSession):
        connect.SparkSession._active_session.session = session
    return session


@contextlib.contextmanager
def active_session_restored() -> Iterator[None]:
    """Within the block a notebook may make its session active; the one active before is active after."""
    connect = sys.modules.get("pyspark.sql.connect.session")
    before = getattr(connect.SparkSession._active_session, "session", None) if connect else None
    try:
        yield
    finally:
        connect = sys.modules.get("pyspark.sql.connect.session")
        if connect is not None:
            connect.SparkSession._active_session.session = before
