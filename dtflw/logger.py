"""dtflw 0.6 import path `dtflw.logger`: re-exports the loggers from `dtflw.compat.logger`."""

from dtflw.compat.logger import DefaultLogger, LoggerBase

__all__ = ["DefaultLogger", "LoggerBase"]
