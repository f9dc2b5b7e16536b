"""A notebook's builtins, where `spark` is found on first use: a notebook that never touches Spark
starts no engine and imports no pyspark. (Name lookups that miss a module's globals fall through to
its builtins; this mapping answers `spark` there by asking the runtime for its session.)"""

from __future__ import annotations

import builtins


class NotebookBuiltins(dict):
    """Python's builtins (or `base`, the notebook's own), plus `spark` on demand."""

    def __init__(self, runtime, base: dict | None = None):
        super().__init__(vars(builtins) if base is None else base)
        self._runtime = runtime

    def __missing__(self, name: str):
        if name != "spark":
            raise KeyError(name)
        session = self["spark"] = self._runtime.spark
        return session
