"""Loggers of a flow (0.6 API): `DefaultLogger` prints messages in verbose mode."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

VERBOSITIES = ("default", "verbose")
_log = logging.getLogger("dtflw")


class LoggerBase(ABC):
    def __init__(self, verbosity: str = "default"):
        self.verbosity = verbosity

    @property
    def verbosity(self) -> str:
        return self._verbosity

    @verbosity.setter
    def verbosity(self, value: str) -> None:
        self._verbosity = value if value in VERBOSITIES else "default"

    @abstractmethod
    def log(self, msg: str) -> None:
        """Record one message."""


class DefaultLogger(LoggerBase):
    """Prints in "verbose" mode; always forwards to the `dtflw` Python logger at DEBUG level."""

    def log(self, msg: str) -> None:
        _log.debug(msg)
        if self.verbosity == "verbose":
            print(msg)
