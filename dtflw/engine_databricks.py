"""The `databricks` engine: notebooks run in-process here, their Spark runs on Databricks compute.

Spark is a databricks-connect `DatabricksSession` on a cluster or serverless compute, one session per
notebook run (temp views stay private to a notebook, as on Databricks). Host, auth and compute follow
databricks-sdk's unified config: `DATABRICKS_HOST`, `DATABRICKS_TOKEN`, OAuth, `~/.databrickscfg`
profiles, `DATABRICKS_CLUSTER_ID`, `DATABRICKS_SERVERLESS_COMPUTE_ID`. They are checked — and the
workspace asked whether it accepts them — before any notebook runs; a problem is a
`DatabricksConfigError` naming the setting to fix. Tokens never appear in its messages.

`dbutils.fs` and `dbutils.secrets` of the notebooks are the workspace's (its DBFS API, as a cluster's
`dbutils.fs` behaves: `dtflw.workspace_fs`; databricks-sdk's `WorkspaceClient().dbutils.secrets`), and so
is `dbfs:/` storage; widgets and `dbutils.notebook.run/exit` stay local.

An `sc://` URL (`url`, or `$SPARK_REMOTE`, which databricks-connect honours too) points Spark at any
Spark Connect server instead of the compute — a local Sail server in tests. The workspace is then used
for dbutils only when a host is configured.

databricks-connect ships its own pyspark: install `dtflw[databricks]` in an environment without pyspark.
"""

from __future__ import annotations

import os
import threading

from dtflw.engines import ConnectEngine, Engine
from dtflw.errors import DatabricksConfigError

CHECK_TIMEOUT_SECONDS = 60  # how long the configuration check may retry the workspace (429s, 503s)
AUTH_HINT = (
    "set DATABRICKS_HOST and DATABRICKS_TOKEN (or another auth of databricks-sdk's unified config), "
    "or pass --profile NAME for a profile of ~/.databrickscfg"
)
COMPUTE_HINT = (
    "pass --cluster-id ID (or set DATABRICKS_CLUSTER_ID, or cluster_id in the profile), "
    "or --serverless (DATABRICKS_SERVERLESS_COMPUTE_ID=auto)"
)


class DatabricksEngine(ConnectEngine):
    """Spark on Databricks compute through databricks-connect; see the module docstring."""

    name = "databricks"

    def __init__(
        self,
        conf: dict[str, str] | None = None,
        *,
        url: str | None = None,
        profile: str | None = None,
        cluster_id: str | None = None,
        serverless: bool = False,
    ):
        Engine.__init__(self, conf)
        self._user_conf = dict(conf or {})
        self.url = url or os.environ.get("SPARK_REMOTE") or ""
        self.profile = profile
        self.cluster_id = cluster_id
        self.serverless = serverless
        self._config = None
        self._dbutils = None
        self._creating = threading.Lock()

    # -- configuration ------------------------------------------------------------------------
    def check(self):
        """Validate host, auth and compute, asking the workspace; returns the sdk `Config` (or None
        when Spark goes to an sc:// server and no workspace is configured)."""
        if self._config is not None or (self.url and not self._workspace_configured()):
            return self._config
        config = self._sdk_config()
        if not self.url:
            self._check_compute(config)
        self._check_workspace(config)
        self._config = config
        return config

    def _workspace_configured(self) -> bool:
        return bool(self.profile or os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_CONFIG_PROFILE"))

    def _sdk_config(self):
        _require_packages()
        from databricks.sdk.core import Config

        options = {"profile": self.profile, "cluster_id": self.cluster_id}
        if self.serverless:
            options["serverless_compute_id"] = "auto"
        try:
            return Config(
                **{k: v for k, v in options.items() if v},
                retry_timeout_seconds=CHECK_TIMEOUT_SECONDS,
            )
        except ValueError as e:
            where = f"profile '{self.profile}'" if self.profile else "the environment"
            raise DatabricksConfigError(
                f"The databricks engine found no usable workspace configuration in {where}: "
                f"{_first_line(e)}. To fix it, {AUTH_HINT}."
            ) from None

    def _check_compute(self, config) -> None:
        if config.cluster_id and config.serverless_compute_id:
            raise DatabricksConfigError(
                f"The databricks engine got both a cluster ({config.cluster_id}) and serverless compute: "
                "pass only one of --cluster-id / DATABRICKS_CLUSTER_ID and --serverless / "
                "DATABRICKS_SERVERLESS_COMPUTE_ID."
            )
        if not (config.cluster_id or config.serverless_compute_id):
            raise DatabricksConfigError(f"The databricks engine has no compute to run Spark on: {COMPUTE_HINT}.")

    def _check_workspace(self, config) -> None:
        """One call for the credentials, one for the cluster: errors name the setting, never a token."""
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.errors import DatabricksError, NotFound, PermissionDenied, Unauthenticated

        client = WorkspaceClient(config=config)
        try:
            client.current_user.me()
        except (Unauthenticated, PermissionDenied) as e:
            raise DatabricksConfigError(
                f"The workspace {config.host} refused the credentials ({config.auth_type or 'none'}): "
                f"{_scrub(e, config)}. Fix DATABRICKS_TOKEN (or the profile's token/OAuth login)."
            ) from None
        except (DatabricksError, OSError) as e:
            raise DatabricksConfigError(
                f"The workspace {config.host} did not answer: {_scrub(e, config)}. Check DATABRICKS_HOST "
                "(or the profile's host)."
            ) from None
        if config.cluster_id and not self.url:
            try:
                client.clusters.get(config.cluster_id)
            except NotFound:
                raise DatabricksConfigError(
                    f"Cluster '{config.cluster_id}' does not exist in {config.host}: fix --cluster-id "
                    "(or DATABRICKS_CLUSTER_ID, or cluster_id in the profile)."
                ) from None
            except DatabricksError as e:
                raise DatabricksConfigError(
                    f"Cluster '{config.cluster_id}' cannot be used: {_scrub(e, config)}. Fix --cluster-id "
                    "(or DATABRICKS_CLUSTER_ID), or ask for permission to attach to it."
                ) from None

    # -- sessions -----------------------------------------------------------------------------
    def new_session(self):
        """A session of its own for one notebook run, created one at a time: databricks-connect keeps the
        session it creates in a cache and returns what the cache holds then, so two notebooks starting
        Spark at once could get the same session, and the first to end would close it under the other."""
        with self._creating:
            return super().new_session()

    def _builder(self):
        from databricks.connect import DatabricksSession

        if self.url:
            return DatabricksSession.builder.remote(self.url)
        return DatabricksSession.builder.sdkConfig(self.check())

    def preflight(self) -> None:
        """Configuration and compute are checked before any notebook runs."""
        self.check()
        if self.url:
            _check_reachable(self.url)
        _require_packages()

    def _start(self):
        self.preflight()
        return super()._start()

    def _session_conf(self) -> dict[str, str]:
        """Only what the user set: Databricks' own defaults already are ANSI SQL and UTC."""
        return self._user_conf

    # -- the workspace's dbutils --------------------------------------------------------------
    def workspace_utils(self, revealed: set[str]):
        """`(dbutils.fs, dbutils.secrets)` of the workspace for a notebook run, or None without a
        workspace (Spark on a plain sc:// server). Secret values read are added to `revealed`."""
        config = self.check()
        if config is None:
            return None
        if self._dbutils is None:
            from databricks.sdk import WorkspaceClient

            from dtflw.workspace_fs import WorkspaceFs

            client = WorkspaceClient(config=config)
            self._dbutils = (WorkspaceFs(client), client.dbutils.secrets)
        fs, secrets = self._dbutils
        return fs, RevealingSecrets(secrets, revealed)


class RevealingSecrets:
    """The workspace's `dbutils.secrets`, adding every value read to `revealed` so dtflw redacts it."""

    def __init__(self, secrets, revealed: set[str]):
        self._secrets = secrets
        self._revealed = revealed

    def get(self, scope: str, key: str) -> str:
        value = self._secrets.get(scope, key)
        self._revealed.add(value)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802 - dbutils' name
        value = self._secrets.getBytes(scope, key)
        self._revealed.add(value.decode("utf-8", errors="replace"))
        return value

    def list(self, scope: str):
        return self._secrets.list(scope)

    def listScopes(self):  # noqa: N802 - dbutils' name
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


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _scrub(error: Exception, config) -> str:
    """An SDK error's first line, without the token should the service have echoed it."""
    text = _first_line(error)
    token = getattr(config, "token", None)
    return text.replace(token, "***") if token else text


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
