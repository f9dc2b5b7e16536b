"""Runners: how a notebook step is invoked (on a cluster through dbutils, or locally in-process)."""

from dtflw.execution.base import Runner

__all__ = ["Runner"]
