"""Opening a flow, the one place a flow is wired: its storage resolved, leased and bound to the runtime's
Spark session and table catalog; its listeners attached (lineage on the storage, live OpenLineage, the
run's own); its steps handed to the executor the run chose (run as they come, or collected by `dtflw plan`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dtflw.compat.flow import Flow
from dtflw.compat.flow_context import FlowContext
from dtflw.compat.logger import DefaultLogger, LoggerBase
from dtflw.core.runner import CallerBound
from dtflw.runtime import Runtime

if TYPE_CHECKING:
    from dtflw.core.runner import Runner
    from dtflw.events import FlowListener
    from dtflw.storage import Storage


def open_flow(
    runtime: Runtime,
    storage: Storage | str | None = None,
    spark: Any = None,
    logger: LoggerBase | None = None,
    runner: Runner | None = None,
) -> Flow:
    """A new flow of the notebook `runtime` runs, on `storage` (a `Storage`, a URL, or None for the run's
    default); `runner` (default: the runtime's) runs its notebooks. Its start is announced to its listeners."""
    storage = _flow_storage(runtime, storage, spark)
    if isinstance(runner, CallerBound):
        runner.bind_caller(runtime.notebook_path)
    ctx = FlowContext(storage, spark, runtime.dbutils, logger or DefaultLogger(), runtime, runner)
    planner = runtime.options.planner
    if planner is not None:  # `dtflw plan`: steps are collected, nothing runs or is recorded
        ctx.step_executor = planner.collector_for(ctx)
    for listener in _listeners(runtime, storage):
        ctx.listeners.add(listener)
    ctx.listeners.emit("on_flow_start", ctx.flow_run)
    flow = Flow(ctx)
    runtime.flows.append(flow)
    return flow


def _flow_storage(runtime: Runtime, storage: Storage | str | None, spark: Any) -> Storage:
    """The flow's storage: given, or from a URL, or the run's default; leased for this run (one run writes a
    storage at a time), seen as the run wants it (export: no I/O), bound to Spark and the table catalog."""
    from dtflw.storage import STORAGE_ENV, default_storage, from_url

    options = runtime.options
    if storage is None:
        storage = default_storage(
            runtime.storage_environment(), options.default_storage_url or os.environ.get(STORAGE_ENV)
        )
    elif isinstance(storage, str):
        storage = from_url(storage, runtime.storage_environment())
    if options.leases is not None and options.planner is None:
        options.leases.hold(storage)
    if options.storage_view is not None:
        storage = options.storage_view(storage)
    if spark is not None:
        storage.spark = spark
    elif storage.spark is None:
        storage.bind_spark(lambda: runtime.spark)
    if runtime.local.table_catalog is not None:
        storage.bind_tables(runtime.local.table_catalog)
    return storage


def _listeners(runtime: Runtime, storage: Storage) -> list[FlowListener]:
    """The listeners of a flow: its lineage recorder on the storage (unless the run brings its own) and the
    live OpenLineage transport, when it runs; then the run's own listeners."""
    from dtflw.lineage.recorder import LineageRecorder

    options = runtime.options
    if options.planner is not None:
        return list(options.listeners)
    found: list[FlowListener] = []
    if not any(isinstance(listener, LineageRecorder) for listener in options.listeners):
        found.append(LineageRecorder(storage, secrets=runtime.secret_values))
    from dtflw.lineage.live import live_listener

    live = live_listener(runtime.secret_values)
    if live is not None:
        found.append(live)
    return found + list(options.listeners)
