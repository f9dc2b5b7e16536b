"""The schema a lineage document (`dtflw.lineage.document`) must meet before anything reads it.

A document on a storage is input from outside: strict types (no coercion), times and counts that
every export can show (finite, within year 9999, within 64 bits), non-empty ids. Validated into
plain dicts by msgspec, imported only when a document is read (`import dtflw` stays light).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from typing_extensions import NotRequired, TypedDict

from dtflw.incremental.record import problem

MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last time `datetime` shows
MAX_COUNT = 2**63 - 1  # what JSON exporters (orjson) and Spark's longs hold

Seconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS)]  # NaN and infinities fail the bounds
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
Id = Annotated[str, msgspec.Meta(min_length=1)]
Status = Literal["running", "succeeded", "failed", "skipped", "cancelled"]


class StateDoc(TypedDict):
    exists: bool
    format: NotRequired[str | None]
    version: NotRequired[Count | None]
    last_operation: NotRequired[str | None]
    file_count: NotRequired[Count]
    size_bytes: NotRequired[Count]
    modified_ms: NotRequired[Annotated[int, msgspec.Meta(ge=0, le=MAX_SECONDS * 1000)]]
    fingerprint: NotRequired[str | None]
    table_id: NotRequired[str | None]
    problem: NotRequired[str | None]


class UseDoc(TypedDict):
    name: Id
    path: NotRequired[str | None]
    format: NotRequired[str | None]
    alias: NotRequired[str | None]
    schema: NotRequired[list[Annotated[list[str], msgspec.Meta(min_length=2, max_length=2)]] | None]
    row_count: NotRequired[Count | None]
    state: NotRequired[StateDoc | None]


class ExpectationDoc(TypedDict):
    table: Id
    name: Id
    rule: str
    expression: str
    action: Literal["warn", "fail"]
    passed: Count
    failed: Count
    detail: NotRequired[str | None]
    samples: NotRequired[list[dict[str, Any]] | None]


class RunDoc(TypedDict):
    run_id: Id
    flow_run_id: Id
    notebook_path: Id
    rel_path: NotRequired[str | None]
    args: NotRequired[dict[str, str] | None]
    parent_run_id: NotRequired[str | None]
    attempt: NotRequired[Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNT)]]
    status: Status
    reason: NotRequired[str | None]
    started: Seconds
    ended: NotRequired[Seconds | None]
    exit_value: NotRequired[str | None]
    error: NotRequired[str | None]
    source_fingerprint: NotRequired[str | None]
    tags: NotRequired[list[str] | None]
    inputs: NotRequired[list[UseDoc] | None]
    outputs: NotRequired[list[UseDoc] | None]
    expectations: NotRequired[list[ExpectationDoc] | None]


class FlowDoc(TypedDict):
    run_id: Id
    notebook_path: NotRequired[str | None]
    storage_url: NotRequired[str | None]
    root_dir: NotRequired[str | None]
    parent_run_id: NotRequired[str | None]
    started: Seconds
    ended: NotRequired[Seconds | None]
    status: NotRequired[Status]


class Document(TypedDict):
    format: Literal["dtflw-lineage"]
    version: Literal[1]
    flow_run: FlowDoc
    notebook_runs: list[RunDoc]


def validated(doc: object) -> Document:
    """`doc` (parsed JSON) if it meets the schema (strictly: no coercion; unknown keys are ignored); else
    `ValueError` naming the first field at fault."""
    try:
        return msgspec.convert(doc, Document, strict=True)
    except msgspec.ValidationError as e:
        raise ValueError(problem(e, "document")) from None
