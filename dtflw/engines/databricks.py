"""The `databricks` engine: notebooks run in-process here, their Spark runs on Databricks compute.

Spark is a databricks-connect `DatabricksSession` on a cluster or serverless compute: one connection per
run, and a new Spark session on it per notebook run (temp views and conf stay private to a notebook, as on
Databricks), made in milliseconds (`dtflw.engines.connect_sessions`). Host, auth and compute follow
databricks-sdk's unified config: `DATABRICKS_HOST`, `DATABRICKS_TOKEN`, OAuth, `~/.databrickscfg`
profiles, `DATABRICKS_CLUSTER_ID`, `DATABRICKS_SERVERLESS_COMPUTE_ID`. They are checked — and the
workspace asked whether it accepts them, a terminated cluster started — before any notebook runs, within
the bounds of `dtflw.engines.databricks_check`, saying on stderr what it waits for; a problem is a
`DatabricksConfigError` naming the setting to fix (`DatabricksUnreachableError` at a bound). Tokens never
appear in its messages.

`dbutils.fs` and `dbutils.secrets` of the notebooks are the workspace's (its DBFS API, as a cluster's
`dbutils.fs` behaves: `dtflw.storage.workspace_fs`; databricks-sdk's `WorkspaceClient().dbutils.secrets`), and so
is `dbfs:/` storage; widgets and `dbutils.notebook.run/exit` stay local.

An `sc://` URL (`url`, or `$SPARK_REMOTE`, which databricks-connect honours too) points Spark at any
Spark Connect server instead of the compute — a local Sail server (`sail spark server`) to try it without
a workspace. Its sessions are databricks-connect's Spark Connect client, as `DatabricksSession.builder
.remote(url)` makes them. The workspace is then used for dbutils only when a host is configured.

databricks-connect ships its own pyspark: install `dtflw[databricks]` in an environment without pyspark.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dtflw.engines import Engine
from dtflw.engines.connect import ConnectEngine
from dtflw.errors import DatabricksConfigError

if TYPE_CHECKING:
    from databricks.sdk.core import Config

    from dtflw.engines.connect_sessions import SessionFactory
    from dtflw.storage.workspace_fs import WorkspaceFs


class DatabricksEngine(ConnectEngine):
    """Spark on Databricks compute through databricks-connect; see the module docstring. `say` tells
    what the engine waits for (default: a line on stderr)."""

    name = "databricks"

    @classmethod
    def create(cls, conf: dict[str, str] | None, url: str | None, **compute: Any) -> DatabricksEngine:
        """On `compute` (`profile=`, `cluster_id=`, `serverless=`), or at an sc:// `url`."""
        return cls(conf, url=url, **compute)

    def __init__(
        self,
        conf: dict[str, str] | None = None,
        *,
        url: str | None = None,
        profile: str | None = None,
        cluster_id: str | None = None,
        serverless: bool = False,
        say: Callable[[str], None] | None = None,
    ) -> None:
        Engine.__init__(self, conf)
        self._user_conf = dict(conf or {})
        self.url = url or os.environ.get("SPARK_REMOTE") or ""
        self.profile = profile
        self.cluster_id = cluster_id
        self.serverless = serverless
        self._say = say or _tell
        self._config: Config | None = None
        self._dbutils: tuple[WorkspaceFs, Any] | None = None  # (dbutils.fs, dbutils.secrets) of the workspace
        self._sessions: SessionFactory | None = None

    # -- configuration ------------------------------------------------------------------------
    def check(self) -> Config | None:
        """Validate host, auth and compute, asking the workspace (within the bounds of
        `dtflw.engines.databricks_check`, saying what it waits for); returns the sdk `Config` (or None when Spark
        goes to an sc:// server and no workspace is configured)."""
        if self._config is not None or (self.url and not self._workspace_configured()):
            return self._config
        _require_packages()
        import databricks.sdk  # noqa: F401 - imported here (~1 s), not in the bounded check

        from dtflw.engines.databricks_check import Waiting, WorkspaceCheck

        options: dict[str, str | None] = {"profile": self.profile, "cluster_id": self.cluster_id}
        if self.serverless:
            options["serverless_compute_id"] = "auto"
        self._config = Waiting(self._say).run(WorkspaceCheck(options, self.url).run)
        return self._config

    def _workspace_configured(self) -> bool:
        return bool(self.profile or os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_CONFIG_PROFILE"))

    # -- sessions -----------------------------------------------------------------------------
    def new_session(self) -> Any:
        """A session of its own for one notebook run (a new server-side session: temp views and conf
        are its own), over the run's one channel: made in milliseconds, without databricks-connect's
        session cache, so two notebooks starting at once never share one."""
        self.session  # noqa: B018 - the engine starts (checks, connects) before the first notebook session
        assert self._sessions is not None  # made as the engine started
        session = self._sessions.create()
        self._apply_conf(session)
        return session

    def _builder(self) -> Any:
        if self.url:  # what DatabricksSession.builder.remote(url) does, without importing databricks-sdk (~1 s)
            from pyspark.sql import SparkSession

            return SparkSession.builder.remote(self.url)
        from databricks.connect import DatabricksSession

        return DatabricksSession.builder.sdkConfig(self.check())

    def preflight(self) -> None:
        """Configuration and compute are checked before any notebook runs."""
        self.check()
        if self.url:
            _check_reachable(self.url)
        _require_packages()

    def _start(self) -> Any:
        """The main session, by databricks-connect (which validates cluster and client versions); the
        notebooks' sessions copy its connection. On compute, Spark's first answer is awaited, bounded."""
        from dtflw.engines.connect_sessions import SessionFactory

        self.preflight()
        session = self._builder().create()
        if not self.url:
            from dtflw.engines.databricks_check import Waiting, spark_answers

            config = self.check()  # the Config the preflight checked: compute, so a workspace
            assert config is not None
            Waiting(self._say).run(lambda waiting: spark_answers(session, config, waiting))
        self._apply_conf(session)
        self._sessions = SessionFactory(session.client._builder)
        return session

    def stop(self) -> None:
        super().stop()
        if self._sessions is not None:
            self._sessions.close()
            self._sessions = None

    def _session_conf(self) -> dict[str, str]:
        """Only what the user set: Databricks' own defaults already are ANSI SQL and UTC."""
        return self._user_conf

    # -- the workspace's dbutils --------------------------------------------------------------
    def workspace_utils(self, revealed: set[str]) -> tuple[WorkspaceFs, RevealingSecrets] | None:
        """`(dbutils.fs, dbutils.secrets)` of the workspace for a notebook run, or None without a
        workspace (Spark on a plain sc:// server). Secret values read are added to `revealed`."""
        config = self.check()
        if config is None:
            return None
        if self._dbutils is None:
            from databricks.sdk import WorkspaceClient

            from dtflw.storage.workspace_fs import WorkspaceFs

            client = WorkspaceClient(config=config)
            self._dbutils = (WorkspaceFs(client), client.dbutils.secrets)
        fs, secrets = self._dbutils
        return fs, RevealingSecrets(secrets, revealed)


class RevealingSecrets:
    """The workspace's `dbutils.secrets`, adding every value read to `revealed` so dtflw redacts it."""

    def __init__(self, secrets: Any, revealed: set[str]) -> None:
        self._secrets = secrets
        self._revealed = revealed

    def get(self, scope: str, key: str) -> str:
        value: str = self._secrets.get(scope, key)
        self._revealed.add(value)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802 - dbutils' name
        value: bytes = self._secrets.getBytes(scope, key)
        self._revealed.add(value.decode("utf-8", errors="replace"))
        return value

    def list(self, scope: str) -> Any:
        return self._secrets.list(scope)

    def listScopes(self) -> Any:  # noqa: N802 - dbutils' name
        return self._secrets.listScopes()


def _check_reachable(url: str) -> None:
    """A Spark Connect server listens at `url` (sc://host:port/;params): else a typed error, at once, rather
    than every notebook failing after the client's retries. Parameters (a token) are never shown."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(url.split(";", 1)[0])
    where = f"sc://{address.hostname}:{address.port or 15002}"
    try:
        socket.create_connection((address.hostname, address.port or 15002), timeout=5).close()
    except (OSError, TypeError, ValueError):
        raise DatabricksConfigError(
            f"No Spark Connect server answers at {where}: start it, or fix --remote-url (or $SPARK_REMOTE)."
        ) from None


def _tell(message: str) -> None:
    """What the engine waits for, on stderr (the run's output stays on stdout)."""
    print(message, file=sys.stderr, flush=True)


def _require_packages() -> None:
    """databricks-sdk and databricks-connect, or a typed error saying how to install them."""
    import importlib.util

    try:
        found = all(importlib.util.find_spec(m) is not None for m in ("databricks.sdk", "databricks.connect"))
    except ModuleNotFoundError:  # no `databricks` package at all
        found = False
    if not found:
        raise DatabricksConfigError(
            "The databricks engine needs databricks-sdk and databricks-connect: "
            "pip install 'dtflw[databricks]' (in an environment without pyspark)."
        )
