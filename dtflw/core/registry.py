"""The registry of tables a flow has published, by name (or alias) and producing notebook."""

from __future__ import annotations

import threading
from collections import OrderedDict


class TablesRepository:
    """Where each published table lives; resolves a name as seen from a given notebook."""

    def __init__(self) -> None:
        self._tables: dict[str, OrderedDict[str, str]] = {}
        self._lock = threading.Lock()

    @property
    def tables(self) -> dict[str, OrderedDict[str, str]]:
        return self._tables

    def publish(self, tables: dict[str, str], src_nb_path: str) -> None:
        """Record that notebook `src_nb_path` produced `tables` (name → path); the newest wins."""
        with self._lock:
            for name, path in tables.items():
                producers = self._tables.setdefault(name, OrderedDict())
                producers.pop(src_nb_path, None)
                producers[src_nb_path] = path

    def resolve(self, name: str, trg_nb_path: str | None = None) -> str | None:
        """The latest path of `name`; for a notebook that itself published it, the one before."""
        with self._lock:
            producers = self._tables.get(name)
            if not producers:
                return None
            if not trg_nb_path or trg_nb_path not in producers:
                return next(reversed(producers.values()))
            before = None
            for nb, path in producers.items():
                if nb == trg_nb_path:
                    return before
                before = path
            return None
