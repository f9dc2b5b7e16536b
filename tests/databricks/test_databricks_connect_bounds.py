"""The databricks engine at local speed and never waiting in silence: one connection per run with a new
Spark session per notebook (isolated as on Databricks), and a workspace that does not answer — refused,
silent, slow — told while waited for and failing within the documented bound."""

from __future__ import annotations

import socket
import threading
import time

import pytest

pytest.importorskip(
    "databricks.connect",
    reason="databricks-connect is not installed in this environment; the databricks suite runs in its own "
    "environment: `make test-databricks`",
)

from dtflw.engines import create_engine, databricks_check  # noqa: E402
from dtflw.errors import DatabricksConfigError, DatabricksUnreachableError  # noqa: E402

CLUSTER = "0123-456789-abcdefgh"
TOKEN = "dapi-never-shown-0042"


class CountingProxy:
    """A TCP proxy to `target` counting the connections that carry requests (not mere reachability probes)."""

    def __init__(self, target: str):
        host, port = target.removeprefix("sc://").split(":")
        self._target = (host, int(port.split("/")[0]))
        self._listener = socket.create_server(("localhost", 0))
        # a token makes each channel a secure one with credentials of its own, as Databricks' are: gRPC then
        # shares no connection between two channels (on localhost: local credentials, no TLS)
        self.url = f"sc://localhost:{self._listener.getsockname()[1]}/;token={TOKEN}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            for a, b, counted in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, counted), daemon=True).start()

    def _pipe(self, source, sink, counted: bool):
        try:
            while data := source.recv(65536):
                if counted:
                    self.connections, counted = self.connections + 1, False
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def close(self):
        self._listener.close()


@pytest.fixture
def no_workspace(monkeypatch, tmp_path):
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLUSTER_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))


@pytest.fixture
def silent_host(monkeypatch, no_workspace):
    """A workspace host that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{listener.getsockname()[1]}")
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    yield listener.getsockname()[1]
    listener.close()


def test_notebook_sessions_keep_views_and_conf_apart_and_outlive_each_other(sail_url, no_workspace):
    with create_engine("databricks", url=sail_url) as engine:
        sessions = [engine.new_session() for _ in range(4)]
        first, second, *others = sessions
        first.range(3).createOrReplaceTempView("mine")
        first.conf.set("spark.sql.shuffle.partitions", "7")
        assert first.table("mine").count() == 3
        with pytest.raises(Exception, match="mine"):
            second.table("mine").count()
        assert second.conf.get("spark.sql.shuffle.partitions") != "7"
        first.stop()  # releases its server-side session; the others keep the connection
        assert [s.range(2).count() for s in (second, *others)] == [2] * 3
        assert len({s.session_id for s in sessions}) == 4
        assert engine.session.range(1).count() == 1


@pytest.mark.skipif(
    int(__import__("pyspark").__version__.split(".")[0]) < 4,
    reason="pyspark 3.5 (databricks-connect 16.x) gives localhost with a token TLS, which Sail does not speak",
)
def test_notebook_sessions_share_one_connection(sail_url, no_workspace):
    proxy = CountingProxy(sail_url)
    with create_engine("databricks", url=proxy.url) as engine:
        sessions = [engine.new_session() for _ in range(6)]
        assert [s.range(2).count() for s in sessions] == [2] * 6
        sessions[0].stop()
        assert engine.session.range(1).count() == 1
    assert proxy.connections == 2, "the main session's connection and one for all notebook sessions"
    proxy.close()


def test_sessions_made_at_once_are_each_their_own(sail_url, no_workspace):
    with create_engine("databricks", url=sail_url) as engine:
        engine.session  # noqa: B018
        start, sessions = threading.Barrier(6), []

        def open_one():
            start.wait()
            sessions.append(engine.new_session())

        threads = [threading.Thread(target=open_one) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({s.session_id for s in sessions}) == 6
        sessions[0].stop()
        assert [s.range(2).count() for s in sessions[1:]] == [2] * 5


@pytest.mark.timeout(20)
def test_no_compute_is_said_at_once_even_when_the_host_never_answers(silent_host):
    started = time.monotonic()
    with pytest.raises(DatabricksConfigError, match="no compute"):
        create_engine("databricks").check()
    assert time.monotonic() - started < 5


@pytest.mark.timeout(20)
def test_a_host_nobody_listens_at_fails_at_once_naming_host_and_what_to_check(monkeypatch, no_workspace):
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    monkeypatch.setenv("DATABRICKS_HOST", f"https://127.0.0.1:{port}")
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    started = time.monotonic()
    with pytest.raises(DatabricksUnreachableError) as raised:
        create_engine("databricks", cluster_id=CLUSTER).check()
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert f"https://127.0.0.1:{port} (DATABRICKS_HOST)" in message and "refused" in message
    assert "VPN, proxy" in message and TOKEN not in message


@pytest.mark.timeout(30)
def test_a_silent_workspace_is_waited_for_aloud_and_given_up_at_the_bound(silent_host, monkeypatch, tmp_path):
    monkeypatch.setattr(databricks_check, "CONNECT_TIMEOUT_SECONDS", 3.0)
    monkeypatch.setattr(databricks_check, "PROGRESS_EVERY_SECONDS", 1.0)
    profile = tmp_path / "databrickscfg"
    profile.write_text(f"[dev]\nhost = http://127.0.0.1:{silent_host}\ntoken = {TOKEN}\ncluster_id = {CLUSTER}\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(profile))
    monkeypatch.delenv("DATABRICKS_HOST")
    monkeypatch.delenv("DATABRICKS_TOKEN")
    said = []
    started = time.monotonic()
    with pytest.raises(DatabricksUnreachableError) as raised:
        create_engine("databricks", profile="dev", say=said.append).check()
    assert 3 <= time.monotonic() - started < 6
    message = str(raised.value)
    assert f"the workspace http://127.0.0.1:{silent_host} after 3 s" in message
    assert "profile 'dev'" in message and "VPN, proxy" in message and TOKEN not in message
    assert said and all(f"waiting for the workspace http://127.0.0.1:{silent_host}" in m for m in said)


def test_a_slow_workspace_is_told_and_then_used(workspace_api, monkeypatch):
    monkeypatch.setattr(databricks_check, "PROGRESS_AFTER_SECONDS", 0.2)
    workspace_api.answer_after = 0.4
    said = []
    config = create_engine("databricks", cluster_id=CLUSTER, say=said.append).check()
    assert config.cluster_id == CLUSTER
    assert said and "waiting for the workspace http://127.0.0.1" in said[0]


def test_a_terminated_cluster_is_started_and_its_states_told(workspace_api, monkeypatch):
    monkeypatch.setattr(databricks_check, "CLUSTER_POLL_SECONDS", 0.05)
    workspace_api.clusters[CLUSTER] = "TERMINATED"
    said = []
    create_engine("databricks", cluster_id=CLUSTER, say=said.append).check()
    assert workspace_api.clusters[CLUSTER] == "RUNNING"
    assert workspace_api.calls("/api/2.1/clusters/start") == [200]
    assert [m for m in said if "cluster" in m] == [
        f"… cluster '{CLUSTER}' is TERMINATED: starting it (this takes a few minutes)",
        f"… cluster '{CLUSTER}' is PENDING: waiting for it to run",
        f"… cluster '{CLUSTER}' is RUNNING",
    ]


def test_a_cluster_that_does_not_come_up_is_given_up_at_its_bound(workspace_api, monkeypatch):
    monkeypatch.setattr(databricks_check, "CLUSTER_POLL_SECONDS", 0.05)
    monkeypatch.setattr(databricks_check, "CLUSTER_START_TIMEOUT_SECONDS", 1.0)
    workspace_api.clusters[CLUSTER] = "PENDING"
    workspace_api.start_polls = 10**6
    with pytest.raises(DatabricksUnreachableError, match=f"waiting for cluster '{CLUSTER}' to start after 1 s"):
        create_engine("databricks", cluster_id=CLUSTER, say=lambda m: None).check()


def test_a_notebook_run_by_the_cli_may_ask_pyspark_s_builder_for_spark(sail_url, no_workspace, tmp_path):
    """As on Databricks (and with DatabricksSession), `SparkSession.builder.getOrCreate()` gives a Connect
    session — in a process of its own, where no session was made before."""
    import subprocess
    import sys

    notebook = tmp_path / "ws" / "nb.py"
    notebook.parent.mkdir()
    notebook.write_text(
        "# Databricks notebook source\nfrom pyspark.sql import SparkSession\n"
        "dbutils.notebook.exit(str(SparkSession.builder.getOrCreate().range(4).count()))\n"
    )
    command = [sys.executable, "-m", "dtflw.cli", "run", str(notebook), "--engine", "databricks"]
    run = subprocess.run(
        command + ["--remote-url", sail_url, "--storage", str(tmp_path / "s")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "4"


def test_each_serverless_session_sends_a_session_id_of_its_own():
    """Serverless compute routes by the session id header: a notebook's session must not reuse the main one's."""
    from pyspark.sql.connect.client import DefaultChannelBuilder

    from dtflw.engines.connect_sessions import SessionChannelBuilder, SharedChannel

    template = DefaultChannelBuilder("sc://workspace.example:443/;x-databricks-session-id=abc;session_id=abc")
    channel = SharedChannel(object())
    made = [SessionChannelBuilder(template, channel) for _ in range(2)]
    ids = [dict(b.metadata())["x-databricks-session-id"] for b in made]
    assert [b.session_id for b in made] == ids and len(set(ids)) == 2 and "abc" not in ids
    assert {b.host for b in made} == {"workspace.example"} and made[0].toChannel() is channel


@pytest.mark.timeout(30)
def test_compute_whose_spark_does_not_answer_is_told_and_given_up_at_the_bound(workspace_api, monkeypatch):
    """The workspace answers, the cluster runs, but Spark Connect at the host never does (here: the fake
    workspace speaks no gRPC): the engine says what it waits for and gives up at the bound."""
    monkeypatch.setattr(databricks_check, "SPARK_ANSWER_TIMEOUT_SECONDS", 2.0)
    monkeypatch.setattr(databricks_check, "PROGRESS_AFTER_SECONDS", 0.5)
    said = []
    engine = create_engine("databricks", cluster_id=CLUSTER, say=said.append)
    started = time.monotonic()
    with pytest.raises(DatabricksUnreachableError) as raised:
        engine.session  # noqa: B018
    assert time.monotonic() - started < 10
    assert f"Spark on cluster '{CLUSTER}' of http://127.0.0.1" in str(raised.value)
    assert "accepts Databricks Connect" in str(raised.value) and workspace_api.token not in str(raised.value)
    assert any(f"waiting for Spark on cluster '{CLUSTER}'" in m for m in said)


@pytest.mark.timeout(20)
def test_a_host_of_the_default_profile_is_named_as_such(monkeypatch, no_workspace, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    profile = tmp_path / "databrickscfg"
    profile.write_text(f"[DEFAULT]\nhost = https://127.0.0.1:{port}\ntoken = {TOKEN}\ncluster_id = {CLUSTER}\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(profile))
    with pytest.raises(DatabricksUnreachableError) as raised:
        create_engine("databricks").check()
    assert f"https://127.0.0.1:{port} (the DEFAULT profile of {profile})" in str(raised.value)
    assert TOKEN not in str(raised.value)
