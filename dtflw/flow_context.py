"""dtflw 0.6 import path `dtflw.flow_context`: re-exports FlowContext from `dtflw.core.context`."""

from dtflw.core.context import FlowContext

__all__ = ["FlowContext"]
