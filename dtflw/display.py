"""dtflw 0.6 import path `dtflw.display`: re-exports the displays from `dtflw.compat.display`."""

from dtflw.compat.display import DefaultDisplay, DisplayBase

__all__ = ["DefaultDisplay", "DisplayBase"]
