"""dtflw 0.6 import path `dtflw.flow`: re-exports Flow from `dtflw.core.flow`."""

from dtflw.core.flow import Flow

__all__ = ["Flow"]
