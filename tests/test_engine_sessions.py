"""An engine closes the notebook sessions it opened when it stops: a Spark Connect client left open talks to its
server again at interpreter exit and, the server gone, waits out its retries for minutes before the process ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from dtflw.engines.sail import SailEngine


def test_stopping_the_engine_closes_every_session_it_opened():
    with SailEngine() as engine:
        sessions = [engine.new_session(), engine.new_session()]
        assert [s.range(3).count() for s in sessions] == [3, 3]
    assert all(s.client.is_closed for s in sessions)


def test_a_process_whose_engine_stopped_with_a_session_open_exits_at_once(tmp_path):
    script = textwrap.dedent(
        """
        from dtflw.engines.sail import SailEngine
        engine = SailEngine()
        session = engine.new_session()  # a notebook's session, never stopped by its user
        assert session.range(2).count() == 2
        engine.stop()
        """
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - started < 60  # left open, the client's exit hook retries a dead server for minutes
