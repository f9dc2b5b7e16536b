"""The `dtflw` command's entry point, apart from the `dtflw` package so that it runs before the package's
imports: a Ctrl-C while they run ends the command with one line and exit 130, as one during a run does."""

import os
import signal


def _interrupted(signum, frame):
    os.write(2, "✖ Interrupted (SIGINT).\n".encode())
    os._exit(128 + signal.SIGINT)


# Until `main` runs, the console script's own lines run: a Ctrl-C there is answered the same way.
signal.signal(signal.SIGINT, _interrupted)


def main():
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from dtflw.cli import run_as_program as command

        return command()
    except KeyboardInterrupt:  # while importing: the command itself answers Ctrl-C once it runs
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _interrupted(signal.SIGINT, None)
