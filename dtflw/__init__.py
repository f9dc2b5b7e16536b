"""dtflw: chain Databricks notebooks into dataflow pipelines.

flow = init_flow(storage)
flow.notebook("ingest").input("Orders", file_path="raw/orders.csv").output("Orders").run()
"""

from __future__ import annotations

import os

from dtflw import arguments as a  # noqa: F401 - dtflw 0.6 exposed these modules at the top level
from dtflw import databricks as db  # noqa: F401
from dtflw.compat.logger import DefaultLogger, LoggerBase
from dtflw.core.callee import Argument, Input, Output
from dtflw.core.flow import Flow
from dtflw.errors import DtflwError
from dtflw.flow_context import FlowContext
from dtflw.runtime import active_runtime, current_runtime, from_dbutils
from dtflw.runtime.runner import CallerBound
from dtflw.storage.fs import FileStorageBase
from dtflw.version import __version__  # noqa: F401 - dtflw.__version__

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


def init_flow(storage=None, spark=None, dbutils=None, logger: LoggerBase = None, *, runner=None) -> Flow:
    """A new flow on `storage`, a `Storage` or a storage URL (default: `--storage`, then `$DTFLW_STORAGE`,
    then the runtime's default).

    `runner` (a `dtflw.runtime.runner.Runner`) runs its notebooks; default: the runtime's own
    (`dbutils.notebook.run` on a cluster, in-process locally)."""
    active = active_runtime()
    if dbutils is None or (active is not None and active.dbutils is dbutils):
        runtime = current_runtime()
    else:
        runtime = from_dbutils(dbutils, spark)
    options = runtime.options
    if storage is None:
        from dtflw.storage import STORAGE_ENV, default_storage

        storage = default_storage(
            runtime.storage_environment(), options.default_storage_url or os.environ.get(STORAGE_ENV)
        )
    elif isinstance(storage, str):
        from dtflw.storage import from_url

        storage = from_url(storage, runtime.storage_environment())
    if options.leases is not None and options.planner is None:  # one run writes a storage at a time
        options.leases.hold(storage)
    if options.storage_view is not None:
        storage = options.storage_view(storage)
    if spark is not None:
        storage.spark = spark
    elif storage.spark is None:
        storage.bind_spark(lambda: runtime.spark)
    if getattr(runtime, "table_catalog", None) is not None:
        storage.bind_tables(runtime.table_catalog)
    if isinstance(runner, CallerBound):
        runner.bind_caller(runtime.notebook_path)
    ctx = FlowContext(storage, spark, runtime.dbutils, logger or DefaultLogger(), runtime, runner)
    if options.planner is not None:  # `dtflw plan`: steps are collected, nothing runs or is recorded
        ctx.step_executor = options.planner.collector_for(ctx)
    from dtflw.lineage.recorder import LineageRecorder

    if options.planner is None and not any(isinstance(listener, LineageRecorder) for listener in options.listeners):
        ctx.listeners.add(LineageRecorder(storage, secrets=runtime.secret_values))
    if options.planner is None:
        from dtflw.lineage.live import live_listener

        live = live_listener(runtime.secret_values)
        if live is not None:
            ctx.listeners.add(live)
    for listener in options.listeners:
        ctx.listeners.add(listener)
    ctx.listeners.emit("on_flow_start", ctx.flow_run)
    flow = Flow(ctx)
    runtime.flows.append(flow)
    return flow


def __getattr__(name: str):
    if name == "SparkSession":  # dtflw 0.6 exposed it; imported only when asked for
        from pyspark.sql import SparkSession

        return SparkSession
    raise AttributeError(f"module 'dtflw' has no attribute {name!r}")


def init_args(*args) -> dict[str, Argument]:
    """The notebook's arguments: `init_args("year")` or `init_args({"year": "2024"})`."""
    return Argument.create(*args)


def init_inputs(*inputs) -> dict[str, Input]:
    """The notebook's input paths, from widgets `<name>_in`."""
    return Input.create(*inputs)


def init_outputs(*outputs) -> dict[str, Output]:
    """The notebook's output paths, from widgets `<name>_out`."""
    return Output.create(*outputs)
