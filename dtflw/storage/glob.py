"""Spark's (Hadoop's) glob syntax: `*`, `?`, `[ab]`, `[^ab]`, `{a,b}` and `\\` escapes."""

from __future__ import annotations

import re

GLOB_CHARS = set("*?[{")


def has_glob(path: str) -> bool:
    """True if `path` contains an unescaped glob character."""
    escaped = False
    for ch in path:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in GLOB_CHARS:
            return True
    return False


def split_static_prefix(path: str) -> tuple[str, str]:
    """Split at the last `/` before the first glob character: (folder to list, pattern rest)."""
    for i, ch in enumerate(path):
        if ch in GLOB_CHARS and (i == 0 or path[i - 1] != "\\"):
            cut = path.rfind("/", 0, i)
            return path[: cut + 1], path[cut + 1 :]
    return path, ""


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Spark glob into a regex matching whole paths; `*` never crosses `/`."""
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise ValueError(f"Unclosed '[' in glob {pattern!r}.")
            body = pattern[i + 1 : end]
            if body.startswith("^") or body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            i = end
        elif ch == "{":
            depth += 1
            out.append("(?:")
        elif ch == "}" and depth:
            depth -= 1
            out.append(")")
        elif ch == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(ch))
        i += 1
    if depth:
        raise ValueError(f"Unclosed '{{' in glob {pattern!r}.")
    return re.compile("".join(out) + r"/?\Z")
