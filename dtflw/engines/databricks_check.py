"""The databricks engine's configuration check: bounded in time, and told while it waits.

What needs no network comes first (auth settings, compute: errors at once). Then the workspace is asked —
within `CONNECT_TIMEOUT_SECONDS`, each request within `REQUEST_TIMEOUT_SECONDS` — whether it accepts
the credentials and knows the cluster; a host nobody listens at fails at once. A terminated cluster is
started, and waited for up to `CLUSTER_START_TIMEOUT_SECONDS`; Spark's first answer on the compute for up
to `SPARK_ANSWER_TIMEOUT_SECONDS`. While it waits, the engine says what for
(after `PROGRESS_AFTER_SECONDS`, then every `PROGRESS_EVERY_SECONDS`); at a bound it gives up with a
`DatabricksUnreachableError` naming the host, the profile and what to check. Tokens never appear.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dtflw.errors import DatabricksConfigError, DatabricksUnreachableError

if TYPE_CHECKING:
    from databricks.sdk.core import Config
    from databricks.sdk.service.compute import ClusterDetails, ClustersAPI

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 30.0  # the workspace's answers about credentials and cluster
SPARK_ANSWER_TIMEOUT_SECONDS = 120.0  # Spark's first answer on the compute (serverless may be allocated first)
REQUEST_TIMEOUT_SECONDS = 10.0  # one HTTP request to the workspace
CLUSTER_START_TIMEOUT_SECONDS = 20 * 60.0  # a terminated cluster, started for the run
PROGRESS_AFTER_SECONDS = 1.0
PROGRESS_EVERY_SECONDS = 5.0
CLUSTER_POLL_SECONDS = 5.0
AUTH_HINT = (
    "set DATABRICKS_HOST and DATABRICKS_TOKEN (or another auth of databricks-sdk's unified config), "
    "or pass --profile NAME for a profile of ~/.databrickscfg"
)
COMPUTE_HINT = (
    "pass --cluster-id ID (or set DATABRICKS_CLUSTER_ID, or cluster_id in the profile), "
    "or --serverless (DATABRICKS_SERVERLESS_COMPUTE_ID=auto)"
)


class Waiting:
    """Runs work in a thread of its own, saying what it waits for; gives up at the work's current bound.

    The work calls `expect(what, seconds, check)` as it goes; a bound passed raises a
    `DatabricksUnreachableError` here (the thread, blocked in a request, is left to end on its own)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._lock = threading.Lock()
        self._what, self._check, self._started, self._deadline = "", "", 0.0, 0.0

    def expect(self, what: str, seconds: float, check: str) -> None:
        with self._lock:
            self._what, self._check = what, check
            self._started, self._deadline = time.monotonic(), time.monotonic() + seconds

    def say(self, message: str) -> None:
        self._say(message)

    def run(self, work: Callable[[Waiting], T]) -> T:
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def target() -> None:
            try:
                outcome["value"] = work(self)
            except BaseException as e:  # handed to the waiting thread
                outcome["error"] = e
            finally:
                done.set()

        self.expect("the databricks configuration", CONNECT_TIMEOUT_SECONDS, "check the settings above")
        threading.Thread(target=target, name="dtflw-databricks-check", daemon=True).start()
        told = time.monotonic() + PROGRESS_AFTER_SECONDS
        while not done.wait(max(0.0, min(told, self._deadline) - time.monotonic())):
            with self._lock:
                what, check, started, deadline = self._what, self._check, self._started, self._deadline
            now = time.monotonic()
            if now >= deadline:
                raise DatabricksUnreachableError(
                    f"The databricks engine gave up waiting for {what} after {deadline - started:.0f} s: {check}."
                )
            if now >= told:
                self._say(f"… waiting for {what} ({now - started:.0f} s, giving up after {deadline - started:.0f} s)")
                told = now + PROGRESS_EVERY_SECONDS
        if "error" in outcome:
            raise outcome["error"]
        value: T = outcome["value"]
        return value


class WorkspaceCheck:
    """Host, auth and compute of the engine, checked with the workspace; `run(waiting)` returns the sdk
    `Config` for Spark and dbutils. `url`: Spark goes to that sc:// server, the workspace is for dbutils."""

    def __init__(self, options: Mapping[str, str | None], url: str) -> None:
        self.options: dict[str, Any] = {k: v for k, v in options.items() if v}  # keyword arguments of `Config`
        self.url = url

    def run(self, waiting: Waiting) -> Config:
        offline = self._config(offline=True)
        if not self.url:
            check_compute(offline)
        where = _where(offline, self.options.get("profile"))
        host_hint = (
            f"check the host {where}, your network (VPN, proxy: HTTPS_PROXY) and that the workspace is up; "
            "then run again"
        )
        waiting.expect(f"the workspace {offline.host}", CONNECT_TIMEOUT_SECONDS, host_hint)
        _probe(offline.host, where)
        config = self._config(offline=False)
        self._check_credentials(config, where)
        if config.cluster_id and not self.url:
            self._check_cluster(config, waiting, where)
        return config

    def _config(self, offline: bool) -> Config:
        from databricks.sdk.core import Config

        Config.attributes()  # listed once, on Config: a subclass lists the attributes it defines itself

        class OfflineConfig(Config):
            """Options, environment and profile only: the host's metadata is asked for later, within the bound."""

            def _resolve_host_metadata(self) -> None:
                pass

        try:
            return (OfflineConfig if offline else Config)(
                **self.options,
                retry_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
                http_timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            )
        except ValueError as e:
            profile = self.options.get("profile")
            where = f"profile '{profile}'" if profile else "the environment"
            raise DatabricksConfigError(
                f"The databricks engine found no usable workspace configuration in {where}: "
                f"{first_line(e)}. To fix it, {AUTH_HINT}."
            ) from None

    def _check_credentials(self, config: Config, where: str) -> None:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.errors import PermissionDenied, Unauthenticated
        from databricks.sdk.errors.base import DatabricksError

        try:
            WorkspaceClient(config=config).current_user.me()
        except (Unauthenticated, PermissionDenied) as e:
            raise DatabricksConfigError(
                f"The workspace {where} refused the credentials ({config.auth_type or 'none'}): "
                f"{scrub(e, config)}. Fix DATABRICKS_TOKEN (or the profile's token/OAuth login)."
            ) from None
        except (DatabricksError, OSError) as e:
            raise DatabricksUnreachableError(
                f"The workspace {where} did not answer: {scrub(e, config)}. Check DATABRICKS_HOST "
                "(or the profile's host), your network (VPN, proxy) and that the workspace is up."
            ) from None

    def _check_cluster(self, config: Config, waiting: Waiting, where: str) -> None:
        """The cluster exists and runs; a terminated one is started and waited for."""
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.errors import NotFound
        from databricks.sdk.errors.base import DatabricksError

        clusters, cluster = WorkspaceClient(config=config).clusters, config.cluster_id
        try:
            state = _state(clusters.get(cluster))
            if state == "RUNNING":
                return
            waiting.expect(
                f"cluster '{cluster}' to start",
                CLUSTER_START_TIMEOUT_SECONDS,
                f"see the cluster's event log in {config.host}, or pass a running cluster with --cluster-id",
            )
            if state in ("TERMINATED", "TERMINATING"):
                waiting.say(f"… cluster '{cluster}' is {state}: starting it (this takes a few minutes)")
                _wait_until_not(clusters, cluster, "TERMINATING")
                clusters.start(cluster)
            _wait_running(clusters, cluster, waiting)
        except NotFound:
            raise DatabricksConfigError(
                f"Cluster '{cluster}' does not exist in {where}: fix --cluster-id "
                "(or DATABRICKS_CLUSTER_ID, or cluster_id in the profile)."
            ) from None
        except DatabricksError as e:
            raise DatabricksConfigError(
                f"Cluster '{cluster}' cannot be used: {scrub(e, config)}. Fix --cluster-id "
                "(or DATABRICKS_CLUSTER_ID), or ask for permission to attach to it."
            ) from None


def check_compute(config: Config) -> None:
    if config.cluster_id and config.serverless_compute_id:
        raise DatabricksConfigError(
            f"The databricks engine got both a cluster ({config.cluster_id}) and serverless compute: "
            "pass only one of --cluster-id / DATABRICKS_CLUSTER_ID and --serverless / "
            "DATABRICKS_SERVERLESS_COMPUTE_ID."
        )
    if not (config.cluster_id or config.serverless_compute_id):
        raise DatabricksConfigError(f"The databricks engine has no compute to run Spark on: {COMPUTE_HINT}.")


def spark_answers(session: Any, config: Config, waiting: Waiting) -> None:
    """Spark's first answer on the compute (its server-side session starts), within the bound."""
    compute = f"cluster '{config.cluster_id}'" if config.cluster_id else "serverless compute"
    waiting.expect(
        f"Spark on {compute} of {config.host}",
        SPARK_ANSWER_TIMEOUT_SECONDS,
        f"check that {compute} runs and accepts Databricks Connect (its access mode), and your network",
    )
    session.version  # noqa: B018 - one round trip


def _state(details: ClusterDetails) -> str:
    return details.state.value if details.state is not None else "UNKNOWN"


def _wait_until_not(clusters: ClustersAPI, cluster: str, state: str) -> None:
    while _state(clusters.get(cluster)) == state:
        time.sleep(CLUSTER_POLL_SECONDS)


def _wait_running(clusters: ClustersAPI, cluster: str, waiting: Waiting) -> None:
    """Polls the cluster until it runs, saying each new state; a cluster that ends instead is an error."""
    told = ""
    while True:
        details = clusters.get(cluster)
        state = _state(details)
        if state == "RUNNING":
            waiting.say(f"… cluster '{cluster}' is RUNNING")
            return
        if state in ("TERMINATED", "TERMINATING", "ERROR"):
            raise DatabricksConfigError(
                f"Cluster '{cluster}' did not start ({state}: {details.state_message or 'no reason given'}): "
                "see its event log, or pass another cluster with --cluster-id."
            )
        if state != told:
            waiting.say(f"… cluster '{cluster}' is {state}: waiting for it to run")
            told = state
        time.sleep(CLUSTER_POLL_SECONDS)


def _probe(host: str, where: str) -> None:
    """A TCP connection to the host, unless a proxy stands between: a host nobody listens at, or whose
    name does not resolve, is an error at once rather than after the client's retries."""
    import socket
    from urllib.parse import urlsplit

    from requests.utils import get_environ_proxies

    if get_environ_proxies(host):
        return
    address = urlsplit(host)
    port = address.port or (80 if address.scheme == "http" else 443)
    try:
        socket.create_connection((address.hostname, port), timeout=REQUEST_TIMEOUT_SECONDS).close()
    except OSError as e:
        reason = "its name does not resolve" if isinstance(e, socket.gaierror) else (e.strerror or str(e))
        raise DatabricksUnreachableError(
            f"The databricks engine cannot reach the workspace {where} ({reason}): check the host "
            "(DATABRICKS_HOST, or host in the profile), your network (VPN, proxy: HTTPS_PROXY) and that the "
            "workspace is up."
        ) from None


def _where(config: Config, profile: str | None) -> str:
    """The host and where it came from, for messages."""
    import os

    name = profile or config.profile
    if name:
        source = f"profile '{name}'"
    elif os.environ.get("DATABRICKS_HOST"):
        source = "DATABRICKS_HOST"
    else:
        source = f"the DEFAULT profile of {config.config_file or '~/.databrickscfg'}"
    return f"{config.host} ({source})"


def first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def scrub(error: Exception, config: Config | None) -> str:
    """An SDK error's first line, without the token should the service have echoed it."""
    text = first_line(error)
    token = getattr(config, "token", None)
    return text.replace(token, "***") if token else text
