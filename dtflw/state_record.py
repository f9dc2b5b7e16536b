"""The schema of a step's run record under `<root_dir>/_dtflw/state/` (see `dtflw.incremental`).

A record is input from outside: anyone who can write the storage can write it. It is validated here,
strictly (no coercion: `args: null`, `inputs: []` or a dict as exit value are refused), before a lazy
run trusts it. Imported only where records are read, so `import dtflw` does not load pydantic.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

# seconds since the epoch: finite, and within what `time.gmtime` can show
Seconds = Annotated[float, Field(ge=0, le=1e11, allow_inf_nan=False)]


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    run_id: str
    at: Seconds = 0.0


class StartedRecord(_Record):
    """A run that started writing its outputs and has not (yet) succeeded."""

    status: Literal["started"]


class SucceededRecord(_Record):
    """The fingerprint of a run that succeeded, and the exit value kept for runs that skip it."""

    status: Literal["succeeded"]
    source: str | None
    args: dict[str, str]
    inputs: dict[str, str]
    exit_value: str | None = None


class CurrentRecord(BaseModel):
    """A lazy run found a table at an explicitly given location up to date (see `RunHistory.confirm_current`)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    output: str
    fingerprint: str
    notebook: str
    run_id: str
    at: Seconds


_RECORD = TypeAdapter(Annotated[StartedRecord | SucceededRecord, Field(discriminator="status")])
_BAD_STATUS = ("union_tag_not_found", "union_tag_invalid", "model_type")


def parse_current(text: str) -> CurrentRecord:
    """The confirmation in `text`; `ValueError` says in one line what is wrong with it."""
    try:
        return CurrentRecord.model_validate_json(text)
    except ValidationError as e:
        raise ValueError(_first_problem(e)) from None


def parse_record(text: str) -> StartedRecord | SucceededRecord:
    """The record in `text`; `ValueError` says in one line what is wrong with it."""
    try:
        return _RECORD.validate_json(text)
    except ValidationError as e:
        first = e.errors()[0]
        if first["type"] in _BAD_STATUS:
            raise ValueError(
                "not a record of a run: its status is missing, or neither 'started' nor 'succeeded'"
            ) from None
        raise ValueError(_first_problem(e, skip=1)) from None


def _first_problem(e: ValidationError, skip: int = 0) -> str:
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"][skip:]) or "record"
    return f"{where}: {first['msg']} ({e.error_count()} problem(s))"
