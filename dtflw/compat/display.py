"""Displays of a flow (0.6 API): where `flow.show()` writes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class DisplayBase(ABC):
    @abstractmethod
    def show(self, content: Any) -> None:
        """Show `content` to the user."""


class DefaultDisplay(DisplayBase):
    def show(self, content: Any) -> None:
        print(content)
