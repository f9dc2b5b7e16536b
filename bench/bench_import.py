"""Cold `import dtflw` time in a fresh interpreter (goal: median ≤ 0.15 s), and what it must not import."""

from __future__ import annotations

import statistics
import subprocess
import sys

GOAL_SECONDS = 0.15
RUNS = 7
PROBE = (
    "import time, sys; t = time.perf_counter(); import dtflw; d = time.perf_counter() - t; "
    "heavy = [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'pysail', 'azure', 'boto3', 'botocore', 'google', 'openlineage', 'pandas', 'pyarrow', 'deltalake')]; "
    "print(d, ','.join(heavy))"
)


def main() -> int:
    times = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-X", "frozen_modules=on", "-c", PROBE], capture_output=True, text=True, check=True
        )
        seconds, heavy = out.stdout.strip().partition(" ")[::2]
        times.append(float(seconds))
        if heavy:
            print(f"FAIL: import dtflw imported {heavy}")
            return 1
    median = statistics.median(times)
    print(
        f"cold import dtflw: median {median * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over {RUNS} runs (goal ≤ {GOAL_SECONDS * 1000:.0f} ms)"
    )
    return 0 if median <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
