"""Headless Chromium for the HTML report: the DOM after the page's script ran, and screenshots."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from urllib.parse import quote

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def page_url(html_path: str, **params: str) -> str:
    """A file URL with query parameters encoded so that `+` stays a plus."""
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return "file://" + quote(html_path) + (f"?{query}" if query else "")


def _run(url: str, *extra: str, timeout: float = 60) -> tuple[str, float]:
    with tempfile.TemporaryDirectory(prefix="dtflw-chromium-") as profile:
        started = time.perf_counter()
        done = subprocess.run(
            [find_chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout, elapsed


def dump_dom(url: str, window: str = "1400,900") -> tuple[str, float]:
    """(the serialised DOM after load, wall seconds chromium took)."""
    return _run(url, f"--window-size={window}", "--dump-dom")


def screenshot(url: str, png_path: str, window: str = "1400,900") -> float:
    _, elapsed = _run(url, f"--window-size={window}", f"--screenshot={png_path}", "--hide-scrollbars")
    return elapsed
