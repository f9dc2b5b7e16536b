"""The optional parts of dtflw, installed as extras (`pip install 'dtflw[azure]'`), and the typed error a
missing one raises instead of a `ModuleNotFoundError` traceback."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator

from dtflw.errors import MissingExtraError


@contextlib.contextmanager
def extra(name: str, purpose: str) -> Iterator[None]:
    """Within the block, a module that is not installed is the extra `name` missing: a `MissingExtraError`
    saying that `purpose` needs it and which `pip install` to run."""
    try:
        yield
    except MissingExtraError:
        raise
    except ModuleNotFoundError as e:
        raise _missing(name, purpose, e.name) from e


def require(name: str, purpose: str, *modules: str) -> None:
    """`MissingExtraError` unless every one of `modules` (of the extra `name`) is installed; imports none."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # its parent package is missing
            found = False
        if not found:
            raise _missing(name, purpose, module)


def _missing(name: str, purpose: str, module: str | None) -> MissingExtraError:
    return MissingExtraError(
        f"{purpose} needs the Python package {module!r}, which is not installed: pip install 'dtflw[{name}]'.",
        name=module,
    )
