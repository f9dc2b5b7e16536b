"""Issue 18 point 5: a secret read with `dbutils.secrets.get` never shows in a real `dtflw run`'s output, however
the notebook writes it — `print`, `sys.__stdout__`, `os.write` on fds 1 and 2, a subprocess, `%sh echo $X`,
split across writes, amid bytes that are not UTF-8, in a line never ended — and as Databricks shows it,
`[REDACTED]`. `%sh` never sees `DTFLW_SECRET_*` variables; a token in `DATABRICKS_HOST` never shows."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

from dtflw.local.redacted_fds import RedactedFds, _safe_cut

DTFLW = os.path.join(os.path.dirname(sys.executable), "dtflw")
SECRET = "s3cr3t-Ünïcode-value"
TOKEN = "dapiT0KEN0123456789"
HEADER = "# Databricks notebook source\n"
SEPARATOR = "\n# COMMAND ----------\n\n"
WRITES = r"""
import os, subprocess, sys, time
s = dbutils.secrets.get("scope", "key")
os.environ["X"] = s
print("print:", s)
sys.__stdout__.write("dunder: " + s + "\n")
sys.__stdout__.flush()
os.write(1, ("fd1: " + s + "\n").encode())
os.write(2, ("fd2: " + s + "\n").encode())
os.write(1, b"split: " + s.encode()[:7])
time.sleep(0.3)
os.write(1, s.encode()[7:] + b" end\n")
os.write(1, b"\xff\xfe binary " + s.encode() + b" \xc3\n")
subprocess.run([sys.executable, "-c", "import os; os.write(1, os.environ['X'].encode() + b' from a subprocess\\n')"])
print("host:", os.environ["DATABRICKS_HOST"])
print("tty:", os.isatty(1))
"""
SHELL = "# MAGIC %sh\n# MAGIC echo sh: $X\n# MAGIC env | grep -c DTFLW_SECRET_ || true"
UNENDED = "import os\nos.write(1, ('last words ' + dbutils.secrets.get('scope', 'key')).encode())"


def write_project(tmp_path, *cells: str):
    root = tmp_path / "ws" / "p"
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(HEADER + SEPARATOR.join(cells) + "\n")
    return [DTFLW, "run", str(root / "main.py"), "--storage", str(tmp_path / "storage"), "--user", "u"]


def environment():
    return {
        **os.environ,
        "DTFLW_SECRET_SCOPE_KEY": SECRET,
        "DATABRICKS_HOST": f"https://token:{TOKEN}@adb-1.azuredatabricks.net",
    }


def assert_never_shown(output: str):
    assert SECRET not in output and SECRET.encode("utf-8").decode("latin-1") not in output
    assert TOKEN not in output and "s3cr3t" not in output, output


def test_every_way_a_notebook_writes_a_secret_shows_redacted(tmp_path):
    command = write_project(tmp_path, WRITES, SHELL, UNENDED)
    done = subprocess.run(command, cwd=tmp_path, env=environment(), capture_output=True, timeout=120)
    out, err = (done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))
    assert done.returncode == 0, err
    for line in ("print:", "dunder:", "fd1:", "split:", "sh:"):
        assert f"{line} [REDACTED]" in out, out
    assert "fd2: [REDACTED]" in err and "[REDACTED] from a subprocess" in out
    assert b"\xff\xfe binary [REDACTED] \xc3\n" in done.stdout, "bytes that are not UTF-8 pass unchanged"
    assert "host: https://[REDACTED]@adb-1.azuredatabricks.net" in out
    assert "\n0\n" in out, "%sh sees no DTFLW_SECRET_* variable"
    assert out.endswith("last words [REDACTED]"), "a line never ended is shown at the end"
    assert "tty: False" in out
    assert_never_shown(out + err)


def test_on_a_terminal_the_notebook_still_writes_to_a_terminal_and_secrets_show_redacted(tmp_path):
    command = write_project(tmp_path, WRITES)
    main, terminal = pty.openpty()
    process = subprocess.Popen(command, cwd=tmp_path, env=environment(), stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert process.wait(60) == 0
    out = b"".join(chunks).decode("utf-8", "replace")
    assert "tty: True" in out and "fd2: [REDACTED]" in out and "split: [REDACTED] end" in out, out
    assert_never_shown(out)


def test_a_forced_exit_shows_the_unended_line_redacted_first(tmp_path):
    command = write_project(
        tmp_path, UNENDED + "\nimport time\ntry:\n    time.sleep(600)\nfinally:\n    time.sleep(600)"
    )
    process = subprocess.Popen(command, cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, deadline = b"", time.monotonic() + 60
    while b"last words [REDACTED]" not in seen:  # shown while the notebook still runs: it was idle
        assert time.monotonic() < deadline and process.poll() is None, seen
        if select.select([process.stdout], [], [], 0.1)[0]:
            seen += os.read(process.stdout.fileno(), 4096)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert_never_shown((seen + rest + err).decode("utf-8", "replace"))


def test_a_secret_split_across_writes_or_lines_is_held_back_until_it_can_be_told(tmp_path):
    secrets = frozenset({"abcdef", "line one\nline two"})
    assert _safe_cut("x abc", 5, secrets) == 2, "a tail that may become a secret waits"
    assert _safe_cut("x abcdef", 8, secrets) == 8, "a whole secret is scrubbed, nothing waits"
    assert _safe_cut("text line one\n", 14, secrets) == 5, "a multi-line secret is not cut at its line end"
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    with RedactedFds(set(secrets), fds=(fd,)):
        for piece in (b"a", b"bc", b"def and line one", b"\nline two!\n", b"tail abc"):
            os.write(fd, piece)
            time.sleep(0.08)  # longer than the idle wait: each piece alone would be shown
    os.close(fd)
    assert (tmp_path / "out").read_text() == "[REDACTED] and [REDACTED]!\ntail abc"


def test_descriptors_are_redacted_in_process_and_given_back(capfd):
    with RedactedFds({"Zx9-secret"}):
        os.write(1, b"one Zx9-secret\n")
        os.write(2, b"two Zx9-secret\n")
    os.write(1, b"after\n")
    captured = capfd.readouterr()
    assert captured.out == "one [REDACTED]\nafter\n" and captured.err == "two [REDACTED]\n"
