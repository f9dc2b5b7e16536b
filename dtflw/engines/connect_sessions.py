"""Spark Connect sessions of one run over one gRPC channel.

Each notebook run gets a session of its own — a new server-side session, so its temp views and conf are
its own, as a Databricks notebook's are — but not a connection of its own: every session made here
talks over the one channel of the run (on Databricks: one TLS handshake and one auth setup per run, not
one per notebook). A session's `stop()` releases its server-side session and leaves the channel open;
`close()` closes it at the end of the run.

The sessions copy the connection parameters (headers, user agent, user) of a template `ChannelBuilder` —
the main session's, made by databricks-connect — each with a session id of its own.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import grpc
from pyspark.sql.connect.client import ChannelBuilder

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession


class SharedChannel:
    """The run's gRPC channel as each session sees it: all of `grpc.Channel` but `close()`, which does
    nothing — a session ends, the channel stays for the others (`SessionFactory.close` closes it)."""

    def __init__(self, channel: grpc.Channel):
        self._channel = channel

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)

    def close(self) -> None:
        pass


class SessionChannelBuilder(ChannelBuilder):
    """The connection of one session: the template's parameters with a session id of its own, and the
    run's channel."""

    def __init__(self, template: ChannelBuilder, channel: SharedChannel):
        params = dict(template._params)
        old_id = params.pop(ChannelBuilder.PARAM_SESSION_ID, None)
        if old_id is not None:  # serverless: the id is a header too; each session sends its own
            new_id = str(uuid.uuid4())
            params = {k: new_id if v == old_id else v for k, v in params.items()}
            params[ChannelBuilder.PARAM_SESSION_ID] = new_id
        super().__init__(channelOptions=template._channel_options, params=params)
        self._template = template
        self._channel = channel

    def toChannel(self) -> grpc.Channel:  # noqa: N802 - pyspark's name
        return self._channel

    @property
    def host(self) -> str:
        return self._template.host


class SessionFactory:
    """New Spark Connect sessions with the template's connection parameters, over one channel."""

    def __init__(self, template: ChannelBuilder):
        self._template = template
        self._raw = template.toChannel()
        self._channel = SharedChannel(self._raw)

    def create(self) -> SparkSession:
        """A new session (its server-side session starts with its first request)."""
        from pyspark.sql.connect.session import SparkSession

        builder = SessionChannelBuilder(self._template, self._channel)
        # pyspark annotates the parameter as its DefaultChannelBuilder; it takes any ChannelBuilder
        return SparkSession.builder.channelBuilder(builder).create()  # type: ignore[arg-type]

    def close(self) -> None:
        self._raw.close()
