"""The flow bus (0.6 API): values shared between notebooks through the Spark runtime config."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

SharedValues = Mapping[str, Any] | Iterable[tuple[str, Any]]  # what dict() takes: a call's args, inputs or outputs

_lock = threading.Lock()


class MessageBus:
    """A JSON document in `spark.conf["flow.bus"]`: channel → topic → message."""

    ROOT_CHANNEL = "flow.bus"

    def __init__(self, spark: Any = None) -> None:
        self._given_spark = spark

    @property
    def _spark(self) -> Any:
        """The session given, else the notebook's, found when first used (as 0.6)."""
        from dtflw.compat import databricks

        return self._given_spark if self._given_spark is not None else databricks.get_spark_session()

    def _read(self) -> dict[str, Any]:
        try:
            bus: dict[str, Any] = json.loads(self._spark.conf.get(self.ROOT_CHANNEL) or "{}")
            return bus
        except Exception:  # the key is absent until the first share
            return {}

    def share(self, channel: str, topic: str, message: Any) -> None:
        if not channel:
            raise ValueError("`channel` cannot be None nor an empty string.")
        if not topic:
            raise ValueError("`topic` cannot be None nor an empty string.")
        with _lock:
            bus = self._read()
            bus.setdefault(channel, {})[topic] = message
            self._spark.conf.set(self.ROOT_CHANNEL, json.dumps(bus))

    def try_get(
        self, channel: str | None = None, topic: str | None = None, default: Any = None, defualt: Any = None
    ) -> Any:
        fallback = default if default is not None else defualt
        bus = self._read()
        if channel is None:
            return bus
        if channel not in bus:
            return fallback
        if topic is None:
            return bus[channel]
        return bus[channel].get(topic, fallback)


class NotebooksChannel:
    """Per-notebook args, inputs and outputs on the bus, keyed by the callee's workspace path."""

    CHANNEL = "notebooks"

    def __init__(self, spark: Any = None) -> None:
        self._bus = MessageBus(spark)

    def _share(self, notebook_abs_path: str, kind: str, values: SharedValues) -> None:
        entry = self._bus.try_get(self.CHANNEL, notebook_abs_path, default={}) or {}
        entry[kind] = dict(values)
        self._bus.share(self.CHANNEL, notebook_abs_path, entry)

    def get(self, notebook_abs_path: str, kind: str) -> dict[str, Any]:
        """The `kind` (args, inputs or outputs) shared for a notebook."""
        shared: dict[str, Any] = (self._bus.try_get(self.CHANNEL, notebook_abs_path, default={}) or {}).get(kind, {})
        return shared

    def share_args(self, notebook_abs_path: str, args: SharedValues) -> None:
        self._share(notebook_abs_path, "args", args)

    def share_inputs(self, notebook_abs_path: str, inputs: SharedValues) -> None:
        self._share(notebook_abs_path, "inputs", inputs)

    def share_outputs(self, notebook_abs_path: str, outputs: SharedValues) -> None:
        self._share(notebook_abs_path, "outputs", outputs)

    def get_args(self, notebook_abs_path: str) -> dict[str, Any]:
        return self.get(notebook_abs_path, "args")

    def get_inputs(self, notebook_abs_path: str) -> dict[str, Any]:
        return self.get(notebook_abs_path, "inputs")

    def get_outputs(self, notebook_abs_path: str) -> dict[str, Any]:
        return self.get(notebook_abs_path, "outputs")
