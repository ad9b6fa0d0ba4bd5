"""Request and response bodies of the call-record routes (`crm/api/calls.py`)."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from crm.api.schemas import MAX_DAY, MIN_DAY, Out
from crm.domain.calls import CallEventKind, CallOutcome, Disposition, RecordingStatus
from crm.domain.survey import SurveyAnswer
from crm.intake import PhoneNumber, Strict

LINKEDID_PATTERN = r"[A-Za-z0-9._-]{1,64}"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WHEN_HELP = "a date (YYYY-MM-DD, China-local) or a date-time with its offset, years 1900-2199"


def day_or_time(value: Any) -> Any:
    """A China-local day, or an instant that names its offset (a naive time is ambiguous)."""
    if not isinstance(value, str):
        return value  # refused by the strict validator
    try:
        if _DAY.fullmatch(value):
            parsed: date = date.fromisoformat(value)
        else:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("no offset")
    except ValueError:
        raise PydanticCustomError("when_format", _WHEN_HELP) from None
    if not MIN_DAY.year <= parsed.year <= MAX_DAY.year:
        raise PydanticCustomError("when_range", _WHEN_HELP)
    return parsed


When = Annotated[
    datetime | date,
    BeforeValidator(day_or_time),
    Field(description=_WHEN_HELP),
]
Queue = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Extension = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[0-9]+$")]
Cursor = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+={0,2}$")]


class CallListQuery(Strict):
    """Filters of the call list (arrival time); newest first. `from` is inclusive; `to` a day
    is through that day, a date-time is before that instant. `cursor` is `next_cursor` of the
    previous page (keyset paging; `offset` skips further)."""

    from_: When | None = Field(default=None, alias="from")
    to: When | None = None
    outcome: CallOutcome | None = None
    queue: Queue | None = None
    agent: Extension | None = None
    caller_number: PhoneNumber | None = None
    disposition: Disposition | None = None
    has_order: bool | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=100_000)
    cursor: Cursor | None = None


class CallOrderOut(Out):
    id: int
    number: str


class CallRecordOut(Out):
    linkedid: str
    caller_number: str
    caller_name: str
    confidential: bool
    started_at: datetime
    ivr_choice: str
    ivr_label: str
    queue: str
    queued_at: datetime | None
    rang_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    wait_s: float | None
    talk_s: float | None
    agent_extension: str = Field(description="the agent who answered first")
    agent_name: str
    outcome: CallOutcome
    end_reason: str
    emergency_line: str = Field(description="110 / 119 / 120 if transferred there, else empty")
    emergency_started_at: datetime | None = Field(
        description="when a consult or transfer to 110 / 119 / 120 began (the 10-minute clock)"
    )
    survey: SurveyAnswer | None = Field(
        description="the caller's satisfaction survey after the agent hung up; null: not offered"
    )
    disposition: Disposition | None
    disposition_note: str
    disposed_at: datetime | None
    orders: list[CallOrderOut]


class CallPage(Out):
    items: list[CallRecordOut]
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end"
    )


class CallEventOut(Out):
    at: datetime
    kind: CallEventKind
    agent: str
    detail: dict[str, Any]


class CallRecordingOut(Out):
    id: int
    part: int
    kind: str = Field(description='"call", or "supervision": a supervisor\'s whisper/barge '
                      "(supervisors and admins only may hear it)")  # fmt: skip
    status: RecordingStatus
    duration_s: float | None
    sha256: str


class CallDetailOut(CallRecordOut):
    events: list[CallEventOut]
    recordings: list[CallRecordingOut]


def aware_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)
