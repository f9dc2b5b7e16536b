"""Parsing what the `dtflw` commands share: KEY=VALUE options and the default storage."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TypeVar

import click

CommandFunction = TypeVar("CommandFunction", bound=Callable[..., object])  # what click's decorators take


def pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """`("a=1", "b=2")` of the option `option` as {"a": "1", "b": "2"}."""
    found = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE.", param_hint=option)
        found[key] = value
    return found


def default_storage_url(storage: str | None) -> str:
    """`--storage`, else `$DTFLW_STORAGE`, else the `.dtflw/storage` folder here; a relative folder is taken
    from here too (a notebook runs in its own folder)."""
    from dtflw.storage import STORAGE_ENV

    url = storage or os.environ.get(STORAGE_ENV) or ".dtflw/storage"
    return url if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:|/", url) else "file://" + os.path.abspath(url)
