"""Keeping secrets out of what dtflw writes and prints: the redaction policy, in one place.

A secret is a value read with `dbutils.secrets.get` or an arg marked `secret=` on a notebook step.
Free text that may carry one — exit values, error texts, arg values, a notebook's printed output,
log lines — goes through `scrub`; identifiers dtflw builds itself (run ids, notebook and table paths,
storage URLs) never do, so they stay intact whatever the secrets are.

Policy, so that redaction never corrupts unrelated text:

- a secret of `MIN_EMBEDDED` (4) characters or more is replaced wherever it occurs;
- a shorter one (`7`, `ab`) is replaced only where it stands alone: as the whole text, or as a
  token bounded by the text's start or end, whitespace, quotes, brackets, `=`, `,` or `;` (a
  sentence's closing `.`/`!`/`?` too). Inside a word, a number, a path, a URL or an id
  (`/data/7/x`, `v7`, `7.5`, `0193-…-7a`) it is left alone: there it cannot be told from other text;
- a value is compared as text: a secret that is not a string (a number in a secrets file) is
  compared as `str(value)`; empty values are ignored. Scrubbing never raises.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any, overload
from urllib.parse import urlsplit

REDACTED = "[REDACTED]"
MIN_EMBEDDED = 4
_BOUNDARY = r"\s'\"`=,;(\[{<"  # before a short secret: start of text, or one of these
_RIGHT = r"(?=$|[\s'\"`=,;)\]}>!?]|\.(?!\w))"  # end of text, or one of these after it


def secret_texts(secrets: Iterable[object]) -> frozenset[str]:
    """The non-empty secrets as strings (a number from a secrets file counts as its digits)."""
    texts = set()
    for value in list(secrets or ()):  # a C-level copy: safe while another thread adds secrets
        if value is None:
            continue
        text = value if isinstance(value, str) else str(value)
        if text:
            texts.add(text)
    return frozenset(texts)


@lru_cache(maxsize=64)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    ordered = sorted(secrets, key=lambda s: (-len(s), s))  # longest first: no partial replacement
    long = [re.escape(s) for s in ordered if len(s) >= MIN_EMBEDDED]
    parts = ["|".join(long)] if long else []
    if any(len(s) < MIN_EMBEDDED for s in ordered):
        # the secret first, then what stands before it: a pattern that starts with text is found fast
        left = [f"{re.escape(t)}(?<![^{_BOUNDARY}][\\s\\S]{{{len(t)}}})" for t in ordered if len(t) < MIN_EMBEDDED]
        parts.append(f"(?:{'|'.join(left)}){_RIGHT}")
    return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None


@overload
def scrub(text: None, secrets: Collection[object]) -> None: ...
@overload
def scrub(text: str, secrets: Collection[object]) -> str: ...
@overload
def scrub(text: object, secrets: Collection[object]) -> str | None: ...


def scrub(text: object, secrets: Collection[object]) -> str | None:
    """`text` with every secret replaced by `[REDACTED]` as the policy above says; never raises."""
    if text is None:
        return None
    try:
        text = text if isinstance(text, str) else str(text)
        texts = secret_texts(secrets)
        if text in texts:
            return REDACTED
        pattern = _pattern(texts) if texts else None
        return pattern.sub(REDACTED, text) if pattern is not None else text
    except Exception:  # a secret must never crash what reports on it: say nothing rather than leak
        return REDACTED


def redact_args(args: dict[str, str], names: Collection[str] = (), secrets: Collection[object] = ()) -> dict[str, str]:
    """A copy of `args`: values of the `names` marked secret hidden, every other value scrubbed."""
    return {k: REDACTED if k in names else scrub(v, secrets) for k, v in args.items()}


def scrub_fields(record: dict[str, Any], secrets: Collection[object], fields: Iterable[str]) -> dict[str, Any]:
    """A copy of a JSON-like record whose free-text `fields` (strings, or dicts of them) are scrubbed."""
    texts = secret_texts(secrets)
    if not texts:
        return record
    copy = dict(record)
    for name in fields:
        value = copy.get(name)
        if isinstance(value, dict):
            copy[name] = {k: scrub(v, texts) for k, v in value.items()}
        elif value is not None:
            copy[name] = scrub(value, texts)
    return copy


def display_url(url: str) -> str:
    """`scheme://host[:port]` of a URL, for logs: user-info, path and query may hold credentials
    (Slack and Teams webhooks carry their token in the path)."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme or not host:
        return "<URL without host>"
    return f"{parts.scheme}://{host}{port}"


def url_credentials(url: str | None) -> set[str]:
    """The credentials in a URL's user-info (`https://user:token@host`): the user-info and the password,
    or the user name when it stands alone (`https://token@host`); none without user-info."""
    try:
        parts = urlsplit(str(url or ""))
        userinfo = parts.netloc.rpartition("@")[0]
        password, username = parts.password, parts.username
    except ValueError:
        return set()
    if not userinfo:
        return set()
    return {userinfo, password} if password else {userinfo, username or userinfo}
