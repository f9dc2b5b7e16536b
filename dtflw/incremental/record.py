"""The schema of a step's run record under `<root_dir>/_dtflw/state/` (see `dtflw.incremental`).

A record is input from outside: anyone who can write the storage can write it. It is validated here,
strictly (no coercion: `args: null`, `inputs: []` or a dict as exit value are refused), before a lazy
run trusts it, by msgspec (fast to import: a lazy no-op run is a whole process that reads records).
Imported only where records are read, so `import dtflw` does not load it.
"""

from __future__ import annotations

from typing import Annotated, Union

import msgspec

from dtflw.incremental import STARTED, SUCCEEDED  # the statuses `RunHistory` writes

# seconds since the epoch: finite, and within what `time.gmtime` can show
Seconds = Annotated[float, msgspec.Meta(ge=0, le=1e11)]


class StartedRecord(msgspec.Struct, frozen=True, tag_field="status", tag=STARTED):
    """A run that started writing its outputs and has not (yet) succeeded."""

    run_id: str
    at: Seconds = 0.0


class SucceededRecord(msgspec.Struct, frozen=True, tag_field="status", tag=SUCCEEDED):
    """The fingerprint of a run that succeeded, and the exit value kept for runs that skip it."""

    run_id: str
    source: str | None
    args: dict[str, str]
    inputs: dict[str, str]
    at: Seconds = 0.0
    exit_value: str | None = None


class CurrentRecord(msgspec.Struct, frozen=True):
    """A lazy run found a table at an explicitly given location up to date (see `RunHistory.confirm_current`)."""

    output: str
    fingerprint: str
    notebook: str
    run_id: str
    at: Seconds


_RECORD = msgspec.json.Decoder(Union[StartedRecord, SucceededRecord])  # noqa: UP007 - a runtime type, not a hint
_CURRENT = msgspec.json.Decoder(CurrentRecord)


def parse_current(text: str) -> CurrentRecord:
    """The confirmation in `text`; `ValueError` says in one line what is wrong with it."""
    try:
        return _CURRENT.decode(text)
    except msgspec.DecodeError as e:
        raise ValueError(problem(e, "record")) from None


def parse_record(text: str) -> StartedRecord | SucceededRecord:
    """The record in `text`; `ValueError` says in one line what is wrong with it."""
    try:
        return _RECORD.decode(text)
    except msgspec.ValidationError as e:
        if "`status`" in str(e) or str(e).endswith("`$.status`"):
            raise ValueError(
                "not a record of a run: its status is missing, or neither 'started' nor 'succeeded'"
            ) from None
        raise ValueError(problem(e, "record")) from None
    except msgspec.DecodeError as e:
        raise ValueError(problem(e, "record")) from None


def problem(error: msgspec.DecodeError, whole: str) -> str:
    """msgspec's error as `where: what` (`notebook_runs.0.run_id: Expected str, got int`), `whole` if at the top."""
    what, _, at = str(error).partition(" - at `$")
    where = at.rstrip("`").lstrip(".").replace("[...]", ".<a key>").replace("[", ".").replace("]", "")
    return f"{where or whole}: {what.replace('`', '')}"
