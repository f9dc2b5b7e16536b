"""Throughput of output redacted at the file descriptors (what `dtflw run` does to stdout and stderr).

Writes ~24 MB of 80-character lines to a descriptor on /dev/null through `RedactedFds`, with two long
secrets and a one-character one (the slow part of the policy: matched as a token only), first with lines
that hold no secret, then with one in every line. Goal: far above what a notebook prints (>= 10 MB/s).
"""

from __future__ import annotations

import os
import time

from dtflw.local.redacted_fds import RedactedFds

SECRETS = {"s3cr3t-value", "another-secret", "7"}
BLOCKS = 300
GOAL_MB_S = 10.0


def throughput(line: bytes) -> float:
    fd = os.open(os.devnull, os.O_WRONLY)
    block = line * 1000
    began = time.perf_counter()
    with RedactedFds(set(SECRETS), fds=(fd,)):
        for _ in range(BLOCKS):
            os.write(fd, block)
    seconds = time.perf_counter() - began
    os.close(fd)
    return BLOCKS * len(block) / 1e6 / seconds


def main() -> int:
    clean = throughput(b"x" * 66 + b" row 1234\n")
    secret = throughput(b"x" * 56 + b" s3cr3t-value 7 x\n")
    print(f"redacted output: {clean:.0f} MB/s without secrets, {secret:.0f} MB/s with secrets in every line")
    return 0 if min(clean, secret) >= GOAL_MB_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
