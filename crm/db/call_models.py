"""The call log's tables: every call that reached the hotline, what happened on it, its
recordings, and who listened to them. Created by migration 0007; times are naive UTC.

A call is stored as it progresses (so a backend restart loses nothing) and its fields only
fill in: a later, poorer report (a re-sync knows less than the events did) never blanks one.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm.db.models import Base, code_enum
from crm.domain.calls import CallEventKind, CallOutcome, Disposition, RecordingStatus
from crm.domain.enums import Role
from crm.domain.survey import SurveyAnswer


class CallRecord(Base):
    """One call (Asterisk Linkedid) from arrival to end, with its outcome."""

    __tablename__ = "call_records"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller_number: Mapped[str] = mapped_column(String(32), default="", index=True)
    caller_name: Mapped[str] = mapped_column(String(80), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ivr_choice: Mapped[str] = mapped_column(String(8), default="")
    ivr_label: Mapped[str] = mapped_column(String(32), default="")
    queue: Mapped[str] = mapped_column(String(64), default="")
    queued_at: Mapped[datetime | None] = mapped_column(DateTime)
    rang_at: Mapped[datetime | None] = mapped_column(DateTime)  # first agent's phone rang
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    agent_extension: Mapped[str] = mapped_column(String(16), default="")  # who answered first
    agent_name: Mapped[str] = mapped_column(String(40), default="")
    outcome: Mapped[CallOutcome] = mapped_column(code_enum(CallOutcome))
    end_reason: Mapped[str] = mapped_column(String(200), default="")
    emergency_line: Mapped[str] = mapped_column(String(8), default="")  # 110 / 119 / 120
    # when the call was first sent towards 110/119/120 (consult or transfer): the 10-minute
    # clock of a call that has no emergency order yet (migration 0008)
    emergency_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    # the caller's satisfaction survey after the agent hung up (migration 0016); None: not offered
    survey: Mapped[SurveyAnswer | None] = mapped_column(code_enum(SurveyAnswer))
    disposition: Mapped[Disposition | None] = mapped_column(code_enum(Disposition))
    disposition_note: Mapped[str] = mapped_column(Text, default="")
    disposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disposed_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


Index("ix_call_records_outcome_started_at", CallRecord.outcome, CallRecord.started_at)
Index("ix_call_records_updated_at", CallRecord.updated_at)  # the live wall's rounds (0010)


class CallEvent(Base):
    """Something that happened on a call; written once (the unique key makes replays no-ops)."""

    __tablename__ = "call_events"
    __table_args__ = (
        UniqueConstraint("linkedid", "kind", "at", "agent", name="uq_call_events_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(ForeignKey("call_records.linkedid"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    kind: Mapped[CallEventKind] = mapped_column(code_enum(CallEventKind))
    agent: Mapped[str] = mapped_column(String(16), default="", index=True)  # extension
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Recording(Base):
    """A call's recording file (part 1, 2 … in order), checked and attached.

    `path` is relative to the recordings directory; `sha256`, `size_bytes` and `format`
    describe the file kept now (the compressed copy once verified), `source_sha256` the file
    as Asterisk finished it."""

    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("linkedid", "part", name="uq_recordings_call_part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(ForeignKey("call_records.linkedid"), index=True)
    part: Mapped[int] = mapped_column(Integer, default=1)
    path: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[RecordingStatus] = mapped_column(code_enum(RecordingStatus), index=True)
    format: Mapped[str] = mapped_column(String(8), default="wav")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Float)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    source_sha256: Mapped[str] = mapped_column(String(64), default="")
    problem: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    compressed_at: Mapped[datetime | None] = mapped_column(DateTime)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)  # last checksum check
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # "call" (the call's own MixMonitor) or "supervision" (a supervisor's whisper/barge)
    kind: Mapped[str] = mapped_column(String(16), default="call", server_default="call")


class SpySession(Base):
    """A supervisor's listen / whisper / barge on a call (migration 0010): `modes` holds each
    mode the session was in with its time (ISO, UTC), `recording` the whisper/barge file."""

    __tablename__ = "spy_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(40), unique=True)  # the spy channel's
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    phone: Mapped[str] = mapped_column(String(8))
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    agent: Mapped[str] = mapped_column(String(8))
    modes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    requested_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    joined_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    end_code: Mapped[str] = mapped_column(String(24), default="")
    recording: Mapped[str] = mapped_column(String(200), default="")


class RecordingAccess(Base):
    """Who played or downloaded which recording, when (append-only, like every trail)."""

    __tablename__ = "recording_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[Role] = mapped_column(code_enum(Role))
    action: Mapped[str] = mapped_column(String(16))  # link / play / download
    byte_range: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[int] = mapped_column(Integer)  # the HTTP status answered
