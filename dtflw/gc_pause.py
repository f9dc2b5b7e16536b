"""Building large structures fast (a lineage of 10,000 notebooks, a DAG plan): pause the cyclic GC meanwhile.

Building a graph or an export of 10,000 notebooks allocates hundreds of thousands of small
dicts and lists, none of them garbage; each automatic collection would walk all of them again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with automatic garbage collection off (restored afterwards, even on error)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
