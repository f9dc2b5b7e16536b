"""Ctrl-C to exit of `dtflw run` (goal: <= 5 s), with a DAG running a notebook in `time.sleep` and one
in a long Spark job (Sail); also SIGTERM, and a notebook that ignores the interrupt (abandoned).

Each case starts a real `dtflw run`, waits until its notebooks run, sends the signal and times the
exit; it checks the exit code (128 + signal) and that the lineage document records the notebooks
as cancelled. Exits non-zero if a case exceeds 5 s or is recorded wrongly.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from test_interrupts import DAG_MAIN, SLEEPY_MAIN, STUBBORN_MAIN, Run  # noqa: E402

GOAL_SECONDS = 5.0
CASES = [
    ("Ctrl-C, DAG: time.sleep + Spark job", DAG_MAIN, ("sleeper", "sparker"), signal.SIGINT),
    ("SIGTERM, DAG: time.sleep + Spark job", DAG_MAIN, ("sleeper", "sparker"), signal.SIGTERM),
    ("Ctrl-C, eager: time.sleep", SLEEPY_MAIN, ("sleeper",), signal.SIGINT),
    ("Ctrl-C, notebook ignoring it", STUBBORN_MAIN, ("stubborn",), signal.SIGINT),
]


def main() -> int:
    failed = False
    for name, main_source, notebooks, sig in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            run = Run(Path(tmp), main_source)
            run.wait_running(*notebooks)
            code, seconds = run.signal_and_wait(sig)
            (doc,) = run.documents()
            statuses = sorted({r["status"] for r in doc["notebook_runs"]} | {doc["flow_run"]["status"]})
            ok = code == 128 + sig and seconds <= GOAL_SECONDS and statuses == ["cancelled"]
            failed |= not ok
            print(f"{name:<40} exit {code} after {seconds:.2f} s, recorded {statuses} {'ok' if ok else 'FAILED'}")
    print(f"goal: exit <= {GOAL_SECONDS:.0f} s, every running notebook and the flow recorded cancelled")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
