"""The storage lease on Azure (Azurite): a blob lease, renewed while held; a holder killed with SIGKILL
gives the storage up when its lease expires."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from testkit import azure_storage

from dtflw.errors import StorageBusyError
from dtflw.storage.lease import LEASE_SECONDS, RunLeases, lease_for
from storage_azure.azurite import ACCOUNT

pytestmark = [pytest.mark.azurite, pytest.mark.slow]

HOLD = """
import sys, time
from dtflw.storage.azure import init_storage
from dtflw.storage.lease import lease_for
storage = init_storage({account!r}, {container!r}, "analysis", connection_string={connection!r}, environ={{}})
with lease_for(storage, "holder-run").held():
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_lease_names_the_holder_and_gets_the_storage_once_a_killed_holder_expires(azurite, container):
    storage = azure_storage(ACCOUNT, container, "analysis", connection_string=azurite.connection_string)
    script = HOLD.format(account=ACCOUNT, container=container, connection=azurite.connection_string)
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    time.sleep(LEASE_SECONDS / 3 + 2)  # past a renewal: the holder keeps it
    with pytest.raises(StorageBusyError, match=rf"in use by run holder-run \(pid {holder.pid} on "):
        lease_for(storage, "second-run").held()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    killed = time.monotonic()
    with lease_for(storage, "second-run").held(wait=LEASE_SECONDS + 15) as lease:
        assert time.monotonic() - killed <= LEASE_SECONDS + 2
        assert lease.abandoned.run_id == "holder-run" and lease.abandoned.pid == holder.pid, "the dead holder"
        props = storage.fs.container_client.get_blob_client("analysis/_dtflw/lease").get_blob_properties()
        assert props.metadata["run_id"] == "second-run" and props.lease.state == "leased"
    with lease_for(storage, "third-run").held() as lease:  # given back at once
        assert lease.abandoned is None, "a lease given back names no dead holder"


def test_a_run_takes_an_azure_storage_it_holds_again(azurite, container):
    storage = azure_storage(ACCOUNT, container, "analysis", connection_string=azurite.connection_string)
    again = azure_storage(ACCOUNT, container, "analysis", connection_string=azurite.connection_string)
    with RunLeases("run-1") as leases:
        assert leases.hold(storage) is leases.hold(again)
        with pytest.raises(StorageBusyError, match="in use by run run-1"):
            RunLeases("run-2").hold(again)
    with RunLeases("run-2") as leases:
        assert leases.hold(again).holder.run_id == "run-2"
