"""Plugins (0.6 API): extra actions on a flow or on every notebook step."""

from __future__ import annotations

from abc import ABC, abstractmethod


class FlowPluginBase(ABC):
    """Adds `flow.<action_name>(*args)` calling `act(flow, *args)`."""

    @property
    @abstractmethod
    def action_name(self) -> str: ...

    @abstractmethod
    def act(self, flow, *args, **kwargs): ...


class NotebookPluginBase(ABC):
    """Adds `notebook.<action_name>(*args)` calling `act(notebook, flow, *args)`."""

    @property
    @abstractmethod
    def action_name(self) -> str: ...

    @abstractmethod
    def act(self, notebook, flow, *args, **kwargs): ...
