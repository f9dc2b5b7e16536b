"""dtflw 0.6 import path `dtflw.assertions`: re-exports assert_schema_compatible from `dtflw.core.schema`."""

from dtflw.core.schema import assert_schema_compatible

__all__ = ["assert_schema_compatible"]
