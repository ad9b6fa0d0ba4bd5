"""Stand-in for the call-log writer (helper "calllog", built in parallel): an ended call's
record and its recording's PENDING row, as `call_log` will store them. Switch the tests to the
real writer once it is merged."""

from __future__ import annotations

from datetime import UTC, datetime

from crm.db.call_models import CallRecord, Recording
from crm.db.engine import SessionFactory
from crm.domain.calls import CallOutcome, RecordingStatus
from telephony.tracker import Call


def naive_utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC).replace(tzinfo=None)


async def store_ended_call(sessions: SessionFactory, call: Call) -> int:
    """The call's record and its recording's row (PENDING, part 1); the recording's id."""
    assert call.ended_at is not None and call.recording
    ended = naive_utc(call.ended_at)
    async with sessions() as session, session.begin():
        session.add(
            CallRecord(
                linkedid=call.linkedid, caller_number=call.caller_number,
                caller_name=call.caller_name[:80], started_at=naive_utc(call.started_at),
                answered_at=None if call.answered_at is None else naive_utc(call.answered_at),
                ended_at=ended, outcome=CallOutcome.ANSWERED, updated_at=ended,
            )
        )  # fmt: skip
        await session.flush()
        recording = Recording(
            linkedid=call.linkedid, part=1, path=call.recording,
            status=RecordingStatus.PENDING, created_at=ended,
        )  # fmt: skip
        session.add(recording)
        await session.flush()
        return recording.id
