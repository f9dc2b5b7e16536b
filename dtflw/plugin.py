"""dtflw 0.6 import path `dtflw.plugin`: re-exports the plugin bases from `dtflw.compat.plugin`."""

from dtflw.compat.plugin import FlowPluginBase, NotebookPluginBase

__all__ = ["FlowPluginBase", "NotebookPluginBase"]
