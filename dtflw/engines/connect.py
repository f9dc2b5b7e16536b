"""The `remote` engine: any Spark Connect server, reached at an sc:// URL."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from dtflw.engines import Engine
from dtflw.errors import EngineError


class ConnectEngine(Engine):
    """A Spark Connect server reached at `url` (sc://host:port)."""

    name = "remote"

    @classmethod
    def create(cls, conf: dict[str, str] | None, url: str | None, **options: Any) -> ConnectEngine:
        """At `url`, else $SPARK_REMOTE."""
        return cls(url or os.environ.get("SPARK_REMOTE", ""), conf)

    def __init__(self, url: str, conf: dict[str, str] | None = None) -> None:
        if not url.startswith("sc://"):
            raise EngineError(f"Remote engine URL {url!r} must start with 'sc://' (e.g. sc://127.0.0.1:15002).")
        super().__init__(conf)
        self.url = url

    def _builder(self) -> Any:
        from pyspark.sql import SparkSession

        return SparkSession.builder.remote(self.url)

    def _start(self) -> Any:
        session = self._builder().create()  # its own session: never another engine's default one
        self._apply_conf(session)
        return session

    def _session_conf(self) -> dict[str, str]:
        """The settings every new session needs (one round trip each)."""
        return self.conf

    def _apply_conf(self, session: Any) -> None:
        for key, value in self._session_conf().items():
            session.conf.set(key, value)

    def new_session(self) -> Any:
        self.session  # noqa: B018 - start the engine before the first notebook session
        session = self._builder().create()
        self._apply_conf(session)
        self._opened.add(session)
        return session

    def stop(self) -> None:
        """Close every session opened here while the server still answers: a Connect client left open
        talks to its server at interpreter exit, and waits out its retries when the server is gone."""
        for session in list(self._opened):
            with contextlib.suppress(Exception):
                session.stop()
        self._opened.clear()
        super().stop()
