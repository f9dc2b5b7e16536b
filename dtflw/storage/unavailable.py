"""Engine errors that mean "the storage did not answer", told as such, with the account and paths.

A Spark engine reports an unreachable storage as a bare `SparkRuntimeException: Connection refused
(os error 111)`: no account, no path. The local runtime maps such an error of a notebook to a
`NotebookStorageUnavailableError` (a `StorageUnavailableError`) naming the Azure accounts, S3 and GCS
buckets and paths the notebook was given (its widgets) or that the error names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TypedDict, TypeVar

from dtflw.errors import NotebookStorageUnavailableError

_UNREACHABLE = re.compile(
    r"connection refused|connection reset|no route to host|timed? ?out|dns error|failed to lookup address"
    r"|name or service not known|error sending request|os error (?:101|104|110|111|113)",
    re.IGNORECASE,
)
_AZURE_URL = re.compile(r"\b(?:abfss?|wasbs?)://[^@\s'\"/]+@[A-Za-z0-9]+\.(?:dfs|blob)\.[^\s'\"]+")
_BUCKET_URL = re.compile(r"\b(?:s3a?|gs)://(?P<bucket>[a-z0-9][a-z0-9._-]+)/[^\s'\"]*")
_CLOUD_URL = re.compile(f"{_AZURE_URL.pattern}|{_BUCKET_URL.pattern}")


def unavailable_storage_error(
    error: BaseException,
    notebook_path: str,
    where: str,
    known_paths: Iterable[object],
    cell: int | None = None,
    line: int | None = None,
) -> NotebookStorageUnavailableError | None:
    """The typed error for an engine's storage connection failure, or None if `error` is not one."""
    if not type(error).__module__.startswith(("pyspark", "py4j")):  # the notebook's own network calls are its own
        return None
    text = f"{type(error).__name__}: {error}"
    if not _UNREACHABLE.search(text):
        return None
    paths = sorted({m.group(0).rstrip(".,;)") for m in _CLOUD_URL.finditer(text)})
    paths += sorted({str(p) for p in known_paths if p and _CLOUD_URL.match(str(p))} - set(paths))
    accounts = sorted({m.group(1) for p in paths if (m := re.search(r"@([A-Za-z0-9]+)\.", p))})
    buckets = sorted({m["bucket"] for p in paths if (m := _BUCKET_URL.match(p))})
    named = "".join(
        f" {label}(s) {', '.join(repr(n) for n in names)};"
        for label, names in (("Storage account", accounts), ("Bucket", buckets))
        if names
    )
    if paths:
        named += f" paths: {', '.join(paths[:5])}."
    return NotebookStorageUnavailableError(
        f"Notebook '{notebook_path}' failed in {where}: the storage did not answer ({text.splitlines()[0][:300]}).{named} "
        "Check that the storage service is reachable (network, firewall, Azurite running) and run again.",
        notebook_path=notebook_path,
        cell=cell,
        line=line,
    )


class DeadlineOptions(TypedDict, total=False):
    """What a storage URL's query says about waiting for the service (fields of a `RequestPolicy`)."""

    timeout: float
    retries: int
    retry_backoff: float


_Number = TypeVar("_Number", int, float)


def deadline_options(query: Mapping[str, list[str]], url: str) -> DeadlineOptions:
    """How long dtflw waits for a storage service that stops answering, from a storage URL's query:
    `?timeout=<seconds per request>&retries=<n>&retry_backoff=<seconds>` (Azure; e.g. `?timeout=5&retries=1`
    gives up on a frozen service after about 10 s instead of about 2 minutes per call)."""
    options = DeadlineOptions()
    if "timeout" in query:
        options["timeout"] = _deadline(query, "timeout", float, url)
    if "retries" in query:
        options["retries"] = _deadline(query, "retries", int, url)
    if "retry_backoff" in query:
        options["retry_backoff"] = _deadline(query, "retry_backoff", float, url)
    return options


def _deadline(query: Mapping[str, list[str]], name: str, kind: type[_Number], url: str) -> _Number:
    """The number `name=` of a URL's query: >= 0, and > 0 for `timeout`."""
    from dtflw.errors import StorageError

    text = query[name][0]
    try:
        value = kind(text)
    except ValueError:
        value = kind(-1)
    if value < 0 or (name == "timeout" and value == 0):
        raise StorageError(
            f"Storage URL {url.split('?', 1)[0]!r}: {name}={text!r} must be a {'whole ' if kind is int else ''}"
            f"number {'> 0' if name == 'timeout' else '>= 0'}."
        )
    return value
