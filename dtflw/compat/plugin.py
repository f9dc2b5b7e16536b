"""Plugins (0.6 API): extra actions on a flow or on every notebook step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dtflw.compat.flow import Flow
    from dtflw.core.step import LazyNotebook


class FlowPluginBase(ABC):
    """Adds `flow.<action_name>(*args)` calling `act(flow, *args)`."""

    @property
    @abstractmethod
    def action_name(self) -> str: ...

    @abstractmethod
    def act(self, flow: Flow, *args: Any, **kwargs: Any) -> Any: ...


class NotebookPluginBase(ABC):
    """Adds `notebook.<action_name>(*args)` calling `act(notebook, flow, *args)`."""

    @property
    @abstractmethod
    def action_name(self) -> str: ...

    @abstractmethod
    def act(self, notebook: LazyNotebook, flow: Flow, *args: Any, **kwargs: Any) -> Any: ...
