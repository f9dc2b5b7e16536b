"""Run events: what a flow tells its listeners (lineage, progress, hooks) as notebooks run."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import overload

from dtflw.expectations.spec import ExpectationResult
from dtflw.secrets import REDACTED, redact_args  # noqa: F401 - REDACTED: its 0.x home
from dtflw.secrets import scrub as scrub_text
from dtflw.storage.tables import TableState

log = logging.getLogger("dtflw")

EXIT_VALUE_LIMIT = 4096


def new_run_id() -> str:
    """A time-ordered UUID (version 7), as OpenLineage recommends for run ids."""
    ms = time.time_ns() // 1_000_000
    rand = uuid.uuid4().int & ((1 << 74) - 1)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


class RunStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"  # interrupted (Ctrl-C, SIGTERM) while it ran


@dataclass
class TableUse:
    """A table a run consumes or produces, with its state as seen then."""

    name: str
    path: str
    format: str | None = None
    alias: str | None = None
    state: TableState | None = None
    schema: list[tuple[str, str]] | None = None
    row_count: int | None = None


@dataclass
class NotebookRun:
    """One run (one attempt) of one notebook within a flow run."""

    run_id: str
    flow_run_id: str
    notebook_path: str
    rel_path: str
    args: dict[str, str]
    inputs: list[TableUse]
    outputs: list[TableUse]
    parent_run_id: str | None = None
    attempt: int = 1
    status: RunStatus = RunStatus.RUNNING
    reason: str | None = None
    started: float = field(default_factory=time.time)
    ended: float | None = None
    exit_value: str | None = None
    error: str | None = None
    source_fingerprint: str | None = None
    tags: tuple[str, ...] = ()
    expectations: list[ExpectationResult] = field(default_factory=list)  # of its outputs, as evaluated

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else self.ended - self.started


@dataclass
class FlowRun:
    """One orchestration: the notebook that called `init_flow` (or the CLI), and its storage."""

    run_id: str
    notebook_path: str
    storage_url: str
    root_dir: str
    parent_run_id: str | None = None
    started: float = field(default_factory=time.time)
    ended: float | None = None
    status: RunStatus = RunStatus.RUNNING
    lineage_folder: str = ""  # where the lineage documents of this storage are


class FlowListener:
    """Receives a flow's events. Override what you need; the rest do nothing."""

    def on_flow_start(self, flow: FlowRun) -> None:
        pass

    def on_notebook_start(self, flow: FlowRun, run: NotebookRun) -> None:
        pass

    def on_notebook_end(self, flow: FlowRun, run: NotebookRun) -> None:
        pass

    def on_flow_end(self, flow: FlowRun) -> None:
        pass


def redact(args: dict[str, str], names: Collection[str], values: Collection[object] = ()) -> dict[str, str]:
    """A copy of `args`: args named in `names` hidden, secret `values` scrubbed from the others."""
    return redact_args(args, names, values)


@overload
def scrub(text: None, secrets: Collection[object]) -> None: ...
@overload
def scrub(text: str, secrets: Collection[object]) -> str: ...
@overload
def scrub(text: str | None, secrets: Collection[object]) -> str | None: ...


def scrub(text: str | None, secrets: Collection[object]) -> str | None:
    """`text` with every secret value replaced (the policy of `dtflw.secrets`; never raises)."""
    return scrub_text(text, secrets)


def truncate(value: str | None, limit: int = EXIT_VALUE_LIMIT) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + f"… [{len(value) - limit} more characters]"


class Listeners:
    """The listeners of a flow; a listener that raises is logged and never fails the flow."""

    def __init__(self) -> None:
        self._items: list[FlowListener] = []

    def add(self, listener: FlowListener) -> None:
        self._items.append(listener)

    def __iter__(self) -> Iterator[FlowListener]:
        return iter(list(self._items))

    def emit(self, method: str, *args: object) -> None:
        for listener in self:
            try:
                getattr(listener, method)(*args)
            except Exception as e:  # a listener must never fail the pipeline
                log.warning("dtflw listener %s.%s failed: %s", type(listener).__name__, method, e)
