"""How the flows of a notebook run, as the command that started it asked (`--lazy`, `--select`, `dtflw plan`, …)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dtflw.events import FlowListener
    from dtflw.storage import Storage
    from dtflw.storage.lease import RunLeases


@dataclass
class RunOptions:
    """How the flows a notebook opens run; set by `dtflw run` / `dtflw plan` for the top notebook."""

    force_lazy: bool = False  # `--lazy`: every step runs lazily
    select: str | None = None  # `--select`: the steps of the top notebook to run
    exclude: str | None = None  # `--exclude`: the steps not to run
    selection: Any = None  # which of this notebook's steps run (made from select/exclude by planning)
    planner: Any = None  # `dtflw plan`: flows collect their steps instead of running them
    listeners: list[FlowListener] = field(default_factory=list)  # extra FlowListeners for every flow opened
    default_storage_url: str | None = None  # `--storage`: what init_flow() uses without a storage
    storage_view: Callable[[Storage], Storage] | None = (
        None  # export: how a flow sees its storage (`dtflw.deploy.offline`: no I/O)
    )
    strict: bool = False  # `--strict`: an argument a notebook never reads is an error, not a warning
    leases: RunLeases | None = (
        None  # `dtflw run`: the run's `RunLeases`, taken by init_flow() for each storage it opens
    )
