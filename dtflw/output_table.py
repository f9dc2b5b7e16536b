"""dtflw 0.6 import path `dtflw.output_table`: re-exports OutputTable from `dtflw.core.tables`."""

from dtflw.core.tables import OutputTable

__all__ = ["OutputTable"]
