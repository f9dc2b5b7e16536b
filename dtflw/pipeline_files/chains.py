"""Dependency chains of a pipeline file: `load >> [clean, check] >> report`."""

from __future__ import annotations


def chain_edges(chain: str) -> list[tuple[str, str]]:
    """The (before, after) step pairs a chain declares; raises ValueError saying what is malformed."""
    groups = [_group(segment) for segment in chain.split(">>")]
    return [(before, after) for left, right in zip(groups, groups[1:]) for before in left for after in right]


def _group(segment: str) -> list[str]:
    text = segment.strip()
    bracketed = text.startswith("[") and text.endswith("]")
    names = [name.strip() for name in text[1:-1].split(",")] if bracketed else [text]
    if not all(names) or any(c in name for name in names for c in " \t[],"):
        raise ValueError(f"{segment.strip()!r} is not a step name nor a [list, of, step names]")
    return names
