"""The flow as 0.6 users know it (`dtflw.Flow`): the core flow with plugins and `show()`."""

from __future__ import annotations

import types
from functools import partial
from typing import TYPE_CHECKING

from dtflw.compat.plugin import FlowPluginBase, NotebookPluginBase
from dtflw.core import flow
from dtflw.core.step import LazyNotebook
from dtflw.errors import PluginError

if TYPE_CHECKING:
    from dtflw.compat.flow_context import FlowContext


class Flow(flow.Flow):
    """Builds notebook steps (`flow.notebook(path)`), with the actions of installed plugins."""

    _ctx: FlowContext

    def __init__(self, ctx: FlowContext):
        super().__init__(ctx)
        self._notebook_plugins: dict[str, NotebookPluginBase] = {}
        self._flow_plugins: dict[str, FlowPluginBase] = {}

    @property
    def ctx(self) -> FlowContext:
        """The 0.6 flow context: the core one with 0.6's logger, display and `show()`."""
        return self._ctx

    def notebook(self, path: str) -> LazyNotebook:
        nb = super().notebook(path)
        for name, plugin in self._notebook_plugins.items():
            setattr(nb, name, partial(types.MethodType(plugin.act, nb), self))
        return nb

    def show(self) -> None:
        """Print the tables the flow's steps published, by name and producer (through `ctx.display`)."""
        self.ctx.show()

    def install(self, plugin: FlowPluginBase | NotebookPluginBase) -> None:
        """Install a `FlowPluginBase` (a flow action) or a `NotebookPluginBase` (a step action)."""
        if isinstance(plugin, FlowPluginBase):
            name = plugin.action_name
            if name in self._flow_plugins or hasattr(type(self), name):
                raise PluginError(f"Flow plugin '{name}' would replace an existing flow action; rename it.")
            self._flow_plugins[name] = plugin
            setattr(self, name, types.MethodType(plugin.act, self))
        elif isinstance(plugin, NotebookPluginBase):
            name = plugin.action_name
            if name in self._notebook_plugins or hasattr(LazyNotebook, name):
                raise PluginError(f"Notebook plugin {name} is already installed.")
            self._notebook_plugins[name] = plugin
        else:
            raise PluginError(
                f"Unexpected plugin type {type(plugin).__name__}; subclass FlowPluginBase or NotebookPluginBase."
            )
