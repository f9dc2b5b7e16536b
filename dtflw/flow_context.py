"""dtflw 0.6 import path `dtflw.flow_context`: the flow context as 0.6 built it by hand — its steps run
when `.run()` is called (outside a DAG block)."""

from __future__ import annotations

from dtflw.core import context
from dtflw.run.immediate import ImmediateExecutor


class FlowContext(context.FlowContext):
    """A flow's shared state whose steps run as they are handed over, unless an `executor` is given."""

    def __init__(self, storage, spark, dbutils, logger, runtime=None, runner=None, executor=None):
        super().__init__(storage, spark, dbutils, logger, runtime, runner, executor)
        if executor is None:
            self.step_executor = ImmediateExecutor(self)


__all__ = ["FlowContext"]
