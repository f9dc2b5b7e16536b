"""dtflw 0.6 import path `dtflw.input_table`: re-exports InputTable from `dtflw.core.tables`."""

from dtflw.core.tables import InputTable

__all__ = ["InputTable"]
