"""dtflw 0.6 import path `dtflw.tables_repo`: re-exports TablesRepository from `dtflw.core.registry`."""

from dtflw.core.registry import TablesRepository

__all__ = ["TablesRepository"]
