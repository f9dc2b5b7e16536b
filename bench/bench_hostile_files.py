"""Hostile pipeline files (issue 18): a billion laughs (9 levels of 9 aliases: 9**9 values from 1 KB), the
same through merge keys, nesting 100 000 deep (YAML and JSON). Goal for each: refused with a
`PipelineFileError` in under a second, peak memory of the process under 200 MB, the error under 2 KB.
For scale, not a goal: a plain 1 MB file of 250 000 aliases, refused at the 100 000th value; its time is
PyYAML's pure-Python scanner reading that far (linear in the file's size, no amplification).

Each file is loaded in a fresh process (peak RSS is the process's own); times exclude the interpreter start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

GOAL_SECONDS, GOAL_MB, GOAL_BYTES = 1.0, 200, 2048

CHILD = """
import resource, sys, time
from dtflw.errors import PipelineFileError
from dtflw.pipeline_files.loading import load_pipeline
import jsonschema, yaml  # imported before the clock starts: the first load imports them
start = time.perf_counter()
try:
    load_pipeline(sys.argv[1])
    outcome, size = "loaded", 0
except PipelineFileError as e:
    outcome, size = "refused", len(str(e).encode())
seconds = time.perf_counter() - start
print(outcome, f"{seconds:.3f}", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, size)
"""


def laughs(merge: bool = False) -> str:
    text = "l0: &l0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}\n"
    for n in range(1, 9):
        item = f"{{<<: *l{n - 1}}}" if merge and n > 1 else f"*l{n - 1}"
        text += f"l{n}: &l{n} [" + ", ".join([item] * 9) + "]\n"
    return text + "steps: [{notebook: x, args: {laughs: *l8}}]\n"


CASES = {
    "billion laughs.yml": laughs(),
    "billion laughs by merge keys.yml": laughs(merge=True),
    "nested 100 000 deep.yml": "steps: " + "[" * 100_000 + "]" * 100_000,
    "nested 100 000 deep.json": '{"steps": ' + "[" * 100_000 + "]" * 100_000 + "}",
}
FOR_SCALE = {"1 MB of 250 000 aliases.yml": "a: &a x\nsteps: [" + ", ".join(["*a"] * 250_000) + "]\n"}


def main() -> int:
    worst = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, text in {**CASES, **FOR_SCALE}.items():
            path = os.path.join(folder, name.replace(" ", "_"))
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            result = subprocess.run([sys.executable, "-c", CHILD, path], capture_output=True, text=True)
            if result.returncode:
                print(f"{name}: crashed\n{result.stderr[-2000:]}")
                return 1
            outcome, seconds, mb, size = result.stdout.split()
            ok = outcome == "refused" and float(seconds) < GOAL_SECONDS and int(mb) < GOAL_MB and int(size) < GOAL_BYTES
            verdict = "(for scale)" if name in FOR_SCALE else "ok" if ok else "OVER GOAL"
            worst |= not ok and name in CASES
            print(f"{name:34} {outcome} in {seconds} s, peak {mb} MB, error {size} bytes {verdict}")
    print(f"goal: refused in < {GOAL_SECONDS} s, < {GOAL_MB} MB, error < {GOAL_BYTES} bytes")
    return worst


if __name__ == "__main__":
    sys.exit(main())
