"""dtflw 0.6 import path `dtflw.com`: re-exports the flow bus from `dtflw.compat.com`."""

from dtflw.compat.com import MessageBus, NotebooksChannel

__all__ = ["MessageBus", "NotebooksChannel"]
