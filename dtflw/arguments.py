"""dtflw 0.6 import path `dtflw.arguments`: re-exports Argument, Input, Output: the callee's widgets from `dtflw.core.callee`."""

from dtflw.core.callee import Argument, Input, Output

__all__ = ["Argument", "Input", "Output"]
