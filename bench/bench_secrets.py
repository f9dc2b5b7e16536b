"""Secret corpus (numeric, 1-3 characters, unicode, regex metacharacters, a value equal to a path
segment, secret-marked args) through every sink: lineage documents and history, the five export
formats, `lineage show`, webhook payloads, LoggingListener records, notebook output, the CLI's output
and final error line, the error raised. Goal: 0 occurrences, no crash, run ids and paths intact.

Runs the corpus test of tests/test_secrets.py (a real flow on Sail) and prints its figure.
"""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/test_secrets.py", "-k", "corpus"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    figures = [line[line.index("secret corpus:") :] for line in result.stdout.splitlines() if "secret corpus:" in line]
    print(figures[0] if figures else "secret corpus: FAILED\n" + result.stdout[-3000:])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
