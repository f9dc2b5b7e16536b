"""dtflw: chain Databricks notebooks into dataflow pipelines.

flow = init_flow(storage)
flow.notebook("ingest").input("Orders", file_path="raw/orders.csv").output("Orders").run()
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from dtflw.compat import import_paths
from dtflw.compat.cluster import from_dbutils
from dtflw.compat.flow import Flow
from dtflw.compat.flow_context import FlowContext
from dtflw.compat.logger import DefaultLogger, LoggerBase
from dtflw.errors import DtflwError
from dtflw.runtime import active_runtime, current_runtime
from dtflw.runtime.callee import Argument, Input, Output
from dtflw.session.flows import open_flow
from dtflw.storage.fs import FileStorageBase
from dtflw.version import __version__  # noqa: F401 - dtflw.__version__

if TYPE_CHECKING:
    from dtflw.core.runner import Runner
    from dtflw.storage import Storage

import_paths.register(sys.modules[__name__])  # dtflw.flow, dtflw.logger, … and `dtflw.a`, `dtflw.db` of 0.6
a = sys.modules[f"{__name__}.arguments"]
db = sys.modules[f"{__name__}.databricks"]

__all__ = [
    "DefaultLogger",
    "DtflwError",
    "FileStorageBase",
    "Flow",
    "FlowContext",
    "LoggerBase",
    "init_args",
    "init_flow",
    "init_inputs",
    "init_outputs",
]


def init_flow(
    storage: Storage | str | None = None,
    spark: Any = None,
    dbutils: Any = None,
    logger: LoggerBase | None = None,
    *,
    runner: Runner | None = None,
) -> Flow:
    """A new flow on `storage`, a `Storage` or a storage URL (default: `--storage`, then `$DTFLW_STORAGE`,
    then the runtime's default).

    `runner` (a `dtflw.core.runner.Runner`) runs its notebooks; default: the runtime's own
    (`dbutils.notebook.run` on a cluster, in-process locally)."""
    active = active_runtime()
    if dbutils is None or (active is not None and active.dbutils is dbutils):
        runtime = current_runtime()
    else:
        runtime = from_dbutils(dbutils, spark)
    return open_flow(runtime, storage, spark, logger, runner)


def __getattr__(name: str) -> Any:
    if name == "SparkSession":  # dtflw 0.6 exposed it; imported only when asked for
        from pyspark.sql import SparkSession

        return SparkSession
    raise AttributeError(f"module 'dtflw' has no attribute {name!r}")


def init_args(*args: Any) -> dict[str, Argument]:
    """The notebook's arguments: `init_args("year")` or `init_args({"year": "2024"})`."""
    return Argument.create(*args)


def init_inputs(*inputs: Any) -> dict[str, Input]:
    """The notebook's input paths, from widgets `<name>_in`."""
    return Input.create(*inputs)


def init_outputs(*outputs: Any) -> dict[str, Output]:
    """The notebook's output paths, from widgets `<name>_out`."""
    return Output.create(*outputs)
