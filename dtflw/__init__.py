"""dtflw: chain Databricks notebooks into dataflow pipelines.

flow = init_flow(storage)
flow.notebook("ingest").input("Orders", file_path="raw/orders.csv").output("Orders").run()
"""

from __future__ import annotations

import os

from dtflw import arguments as a  # noqa: F401 - dtflw 0.6 exposed these modules at the top level
from dtflw import databricks as db  # noqa: F401
from dtflw.arguments import Argument, Input, Output
from dtflw.errors import DtflwError
from dtflw.flow import Flow
from dtflw.flow_context import FlowContext
from dtflw.logger import DefaultLogger, LoggerBase
from dtflw.runtime import _current, current_runtime, from_dbutils
from dtflw.storage.fs import FileStorageBase

__version__ = "1.0.0"
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

STORAGE_ENV = "DTFLW_STORAGE"


def init_flow(storage=None, spark=None, dbutils=None, logger: LoggerBase = None) -> Flow:
    """A new flow on `storage` (default: `--storage`, then `$DTFLW_STORAGE`, then the runtime's default)."""
    active = _current.get()
    if dbutils is None or (active is not None and active.dbutils is dbutils):
        runtime = current_runtime()
    else:
        runtime = from_dbutils(dbutils, spark)
    spark = spark if spark is not None else runtime.spark
    if storage is None:
        storage = default_storage(runtime)
    if getattr(storage, "spark", None) is None:
        storage.spark = spark
    ctx = FlowContext(storage, spark, runtime.dbutils, logger or DefaultLogger(), runtime)
    from dtflw.lineage.recorder import LineageRecorder

    if runtime.planner is not None:  # `dtflw plan`: steps are collected, nothing runs or is recorded
        ctx.collector = runtime.planner.collector_for(ctx)
    elif not any(isinstance(listener, LineageRecorder) for listener in runtime.listeners):
        ctx.listeners.add(LineageRecorder(storage, secrets=runtime.secret_values))
    if runtime.planner is None:
        from dtflw.lineage.live import live_listener

        live = live_listener(runtime.secret_values)
        if live is not None:
            ctx.listeners.add(live)
    for listener in runtime.listeners:
        ctx.listeners.add(listener)
    ctx.listeners.emit("on_flow_start", ctx.flow_run)
    flow = Flow(ctx)
    runtime.flows.append(flow)
    return flow


def default_storage(runtime):
    """The storage a flow uses when none is given."""
    from dtflw.storage import from_url
    from dtflw.storage.dbfs import init_storage as dbfs_storage

    url = runtime.default_storage_url or os.environ.get(STORAGE_ENV)
    if url:
        return from_url(url, runtime)
    return dbfs_storage(dbutils=runtime.dbutils, spark=runtime.spark, runtime=runtime)


def init_args(*args) -> dict[str, Argument]:
    """The notebook's arguments: `init_args("year")` or `init_args({"year": "2024"})`."""
    return Argument.create(*args)


def init_inputs(*inputs) -> dict[str, Input]:
    """The notebook's input paths, from widgets `<name>_in`."""
    return Input.create(*inputs)


def init_outputs(*outputs) -> dict[str, Output]:
    """The notebook's output paths, from widgets `<name>_out`."""
    return Output.create(*outputs)
