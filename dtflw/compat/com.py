"""The flow bus (0.6 API): values shared between notebooks through the Spark runtime config."""

from __future__ import annotations

import json
import threading

_lock = threading.Lock()


class MessageBus:
    """A JSON document in `spark.conf["flow.bus"]`: channel → topic → message."""

    ROOT_CHANNEL = "flow.bus"

    def __init__(self, spark=None):
        self._given_spark = spark

    @property
    def _spark(self):
        """The session given, else the notebook's, found when first used (as 0.6)."""
        from dtflw.compat import databricks

        return self._given_spark if self._given_spark is not None else databricks.get_spark_session()

    def _read(self) -> dict:
        try:
            return json.loads(self._spark.conf.get(self.ROOT_CHANNEL) or "{}")
        except Exception:  # the key is absent until the first share
            return {}

    def share(self, channel: str, topic: str, message) -> None:
        if not channel:
            raise ValueError("`channel` cannot be None nor an empty string.")
        if not topic:
            raise ValueError("`topic` cannot be None nor an empty string.")
        with _lock:
            bus = self._read()
            bus.setdefault(channel, {})[topic] = message
            self._spark.conf.set(self.ROOT_CHANNEL, json.dumps(bus))

    def try_get(self, channel: str | None = None, topic: str | None = None, default=None, defualt=None):
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

    def __init__(self, spark=None):
        self._bus = MessageBus(spark)

    def _share(self, notebook_abs_path: str, kind: str, values) -> None:
        entry = self._bus.try_get(self.CHANNEL, notebook_abs_path, default={}) or {}
        entry[kind] = dict(values)
        self._bus.share(self.CHANNEL, notebook_abs_path, entry)

    def get(self, notebook_abs_path: str, kind: str) -> dict:
        """The `kind` (args, inputs or outputs) shared for a notebook."""
        return (self._bus.try_get(self.CHANNEL, notebook_abs_path, default={}) or {}).get(kind, {})

    def share_args(self, notebook_abs_path: str, args) -> None:
        self._share(notebook_abs_path, "args", args)

    def share_inputs(self, notebook_abs_path: str, inputs) -> None:
        self._share(notebook_abs_path, "inputs", inputs)

    def share_outputs(self, notebook_abs_path: str, outputs) -> None:
        self._share(notebook_abs_path, "outputs", outputs)

    def get_args(self, notebook_abs_path: str) -> dict:
        return self.get(notebook_abs_path, "args")

    def get_inputs(self, notebook_abs_path: str) -> dict:
        return self.get(notebook_abs_path, "inputs")

    def get_outputs(self, notebook_abs_path: str) -> dict:
        return self.get(notebook_abs_path, "outputs")
