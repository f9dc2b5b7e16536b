"""Table writes on the local Unity Catalog vs Sail's memory catalog: `saveAsTable` (overwrite) of 1,000
rows then `spark.table(...).count()`, median of 15 (goal: ≤ 100 ms on the catalog; figures for both).

Each answer of the local REST server is one round trip Sail waits for; a server that sent headers and
body in two packets cost ~1 s per write here (Nagle + delayed ACK), which this benchmark catches."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

from dtflw.engines.sail import SailEngine
from dtflw.local.unity_catalog import LocalUnityCatalog

GOAL_MS = 100
RUNS = 15


def _median_ms(catalog_folder: str | None) -> float:
    with SailEngine() as engine:
        if catalog_folder:
            engine.use_unity_catalog(LocalUnityCatalog(catalog_folder + "/metastore", catalog_folder + "/volumes"))
        session = engine.new_session()
        session.range(10).write.mode("overwrite").saveAsTable("warmup")
        times = []
        for i in range(RUNS):
            start = time.perf_counter()
            session.range(1000).write.mode("overwrite").saveAsTable(f"t{i % 3}")
            session.table(f"t{i % 3}").count()
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    memory = _median_ms(None)
    with tempfile.TemporaryDirectory() as folder:
        catalog = _median_ms(folder)
    ok = catalog <= GOAL_MS
    print(
        f"saveAsTable + count, median of {RUNS}: memory catalog {memory:.0f} ms, local Unity Catalog {catalog:.0f} ms "
        f"(goal ≤ {GOAL_MS} ms) {'OK' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
