"""Existence checks of 100 tables on Azurite: requests per check (goal: exactly 1) and time.

Starts its own Azurite (npm, `npm ci` in the repository), writes 60 parquet tables (data file and
`_SUCCESS`) and 40 Delta tables (delta-rs), then checks each table with `AzureStorage.exists` and
counts the requests Azurite logs. Also times 100 checks of missing tables and 100 `table_state`
calls. Exits non-zero if any existence check costs other than one request.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from storage_azure.azurite import ACCOUNT, KEY, Azurite, missing_reason  # noqa: E402

from dtflw.storage.azure import AzureStorage, init_storage  # noqa: E402

PARQUET_TABLES = 60
DELTA_TABLES = 40
ROUNDS = 5


def parquet_bytes() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(100))}), buffer)
    return buffer.getvalue()


def create_tables(azurite: Azurite, storage: AzureStorage) -> list[str]:
    import pandas as pd
    from deltalake import write_deltalake

    client = azurite.container_client(storage.container_name)
    data = parquet_bytes()
    paths = []
    for i in range(PARQUET_TABLES):
        table = f"analysis/project/nb{i % 10}/P{i}.parquet"
        client.upload_blob(f"{table}/part-00000.parquet", data)
        client.upload_blob(f"{table}/_SUCCESS", b"")
        paths.append(table)
    options = {
        "account_name": ACCOUNT,
        "account_key": KEY,
        "allow_http": "true",
        "azure_storage_endpoint": azurite.endpoint,
    }
    for i in range(DELTA_TABLES):
        table = f"analysis/project/nb{i % 10}/D{i}.delta"
        write_deltalake(
            f"az://{storage.container_name}/{table}", pd.DataFrame({"id": range(100)}), storage_options=options
        )
        paths.append(table)
    return paths


def timed_requests(azurite: Azurite, action) -> tuple[float, int, list]:
    before = len(azurite.settled_requests())
    started = time.perf_counter()
    results = action()
    elapsed = time.perf_counter() - started
    return elapsed, len(azurite.settled_requests()) - before, results


def main() -> int:
    reason = missing_reason()
    if reason:
        print(f"SKIP: {reason}")
        return 2
    azurite = Azurite().start()
    try:
        container = azurite.create_container()
        storage = init_storage(ACCOUNT, container, "analysis", connection_string=azurite.connection_string, environ={})
        tables = create_tables(azurite, storage)
        missing = [f"analysis/project/nb{i % 10}/Missing{i}.parquet" for i in range(len(tables))]
        exists_times, requests_per_round = [], []
        for _ in range(ROUNDS):
            elapsed, requests, found = timed_requests(azurite, lambda: [storage.exists(t) for t in tables])
            if not all(found):
                print("FAIL: a table was not found")
                return 1
            exists_times.append(elapsed)
            requests_per_round.append(requests)
        missing_time, missing_requests, found = timed_requests(azurite, lambda: [storage.exists(t) for t in missing])
        if any(found):
            print("FAIL: a missing table was found")
            return 1
        state_time, state_requests, _ = timed_requests(azurite, lambda: [storage.table_state(t) for t in tables])
    finally:
        azurite.stop()

    per_table = [r / len(tables) for r in requests_per_round]
    median = statistics.median(exists_times)
    print(f"existence of {len(tables)} tables ({PARQUET_TABLES} parquet, {DELTA_TABLES} delta) on Azurite 3.35:")
    print(f"  requests per check: {', '.join(f'{r:g}' for r in per_table)} over {ROUNDS} rounds (goal 1)")
    print(
        f"  time for 100 checks: median {median * 1000:.0f} ms ({median * 10:.2f} ms per check), "
        f"min {min(exists_times) * 1000:.0f} ms"
    )
    print(f"  100 missing tables: {missing_requests / len(missing):g} requests per check, {missing_time * 1000:.0f} ms")
    print(
        f"  table_state (version, last operation): {state_requests / len(tables):g} requests per table "
        f"(delta: listing + commit read), {state_time * 1000:.0f} ms for 100"
    )
    ok = all(r == 1 for r in per_table) and missing_requests == len(missing)
    if not ok:
        print("FAIL: an existence check did not cost exactly one request")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
