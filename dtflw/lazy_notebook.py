"""dtflw 0.6 import path `dtflw.lazy_notebook`: re-exports LazyNotebook from `dtflw.core.step`."""

from dtflw.core.step import LazyNotebook

__all__ = ["LazyNotebook"]
