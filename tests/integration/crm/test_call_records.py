"""Storing calls as they progress (record_progress) and ending lost ones, on both databases."""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.call_models import CallEvent, CallRecord, Recording
from crm.db.engine import session_factory
from crm.domain.call_progress import CallEventFact, CallFacts, CallUpdate
from crm.domain.calls import CallEventKind, CallOutcome, RecordingStatus
from crm.usecases.call_records import LOST_REASON, end_lost_calls, record_progress

T0 = datetime(2026, 12, 1, 2, 0, 0, 123456)
NOW = datetime(2026, 12, 1, 3, 0, 0)
PATH = "20261201/1764590000.12.wav"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def facts(**kw: object) -> CallFacts:
    base: dict[str, object] = {"linkedid": "1764590000.12", "started_at": T0,
                               "caller_number": "13800000000", "caller_name": "张三丰"}  # fmt: skip
    return CallFacts(**{**base, **kw})  # type: ignore[arg-type]


QUEUED = CallUpdate(
    facts(queue="hotline", queued_at=at(4), ivr_choice="1", ivr_label="consult"),
    (CallEventFact(CallEventKind.QUEUED, at(4), "", {"queue": "hotline"}),),
)
ANSWERED = CallUpdate(
    facts(queue="hotline", queued_at=at(4), answered_at=at(9), agent_extension="1001",
          agent_name="王芳"),
    (CallEventFact(CallEventKind.ANSWERED, at(9), "1001", {"queue": "hotline"}),),
    recording=PATH,
)  # fmt: skip
ENDED = CallUpdate(
    facts(outcome=CallOutcome.ANSWERED, queued_at=at(4), answered_at=at(9), ended_at=at(69),
          agent_extension="1001", end_reason="hung up by caller"),
    (CallEventFact(CallEventKind.ENDED, at(69), "", {"reason": "hung up by caller"}),),
    recording=PATH,
)  # fmt: skip


async def _write(engine: AsyncEngine, *updates: CallUpdate) -> list[str]:
    async with session_factory(engine)() as session, session.begin():
        return await record_progress(session, list(updates), NOW)


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    async with session_factory(engine)() as session:
        events = await session.scalar(select(func.count()).select_from(CallEvent))
        recordings = await session.scalar(select(func.count()).select_from(Recording))
    return int(events or 0), int(recordings or 0)


async def _record(engine: AsyncEngine) -> CallRecord:
    async with session_factory(engine)() as session:
        record = await session.get(CallRecord, "1764590000.12")
        assert record is not None
        return record


async def test_a_call_stored_as_it_progresses(engine: AsyncEngine) -> None:
    assert await _write(engine, QUEUED) == []
    assert (await _record(engine)).outcome is CallOutcome.IN_PROGRESS
    assert await _write(engine, ANSWERED, ENDED) == ["1764590000.12"]
    record = await _record(engine)
    assert record.outcome is CallOutcome.ANSWERED and record.started_at == T0
    assert (record.ivr_choice, record.ivr_label, record.queue) == ("1", "consult", "hotline")
    assert record.wait_s == 5.0 and record.talk_s == 60.0 and record.agent_name == "王芳"
    assert record.ended_at == at(69) and record.updated_at == NOW
    async with session_factory(engine)() as session:
        kinds = (await session.scalars(select(CallEvent.kind).order_by(CallEvent.at))).all()
        (recording,) = (await session.scalars(select(Recording))).all()
    assert kinds == [CallEventKind.QUEUED, CallEventKind.ANSWERED, CallEventKind.ENDED]
    assert (recording.part, recording.path, recording.status) == (1, PATH, RecordingStatus.PENDING)
    assert recording.created_at == NOW and recording.linkedid == "1764590000.12"


async def test_replays_add_nothing(engine: AsyncEngine) -> None:
    await _write(engine, QUEUED, ANSWERED, ENDED)
    before = await _counts(engine)
    await _write(engine, QUEUED, ANSWERED, ENDED)
    await _write(engine, ENDED)
    assert await _counts(engine) == before == (3, 1)


async def test_a_poorer_report_after_a_restart_blanks_nothing(engine: AsyncEngine) -> None:
    await _write(engine, QUEUED, ANSWERED)
    revived = CallUpdate(CallFacts(linkedid="1764590000.12", started_at=at(2),
                                   answered_at=at(300), agent_extension="1001"))  # fmt: skip
    await _write(engine, revived)
    record = await _record(engine)
    assert record.started_at == T0 and record.answered_at == at(9) and record.wait_s == 5.0
    assert record.caller_number == "13800000000" and record.ivr_label == "consult"
    ended = CallUpdate(CallFacts(linkedid="1764590000.12", started_at=at(2), answered_at=at(300),
                                 ended_at=at(400), outcome=CallOutcome.ANSWERED))  # fmt: skip
    await _write(engine, ended)
    record = await _record(engine)
    assert record.talk_s == 391.0 and record.outcome is CallOutcome.ANSWERED
    assert await _counts(engine) == (2, 1)  # the recording row from before the restart stays


async def test_calls_gone_while_the_backend_was_away_are_ended(engine: AsyncEngine) -> None:
    other = CallUpdate(CallFacts(linkedid="9.9", started_at=T0, queued_at=at(1)))
    live = CallUpdate(CallFacts(linkedid="8.8", started_at=T0))
    await _write(engine, QUEUED, ANSWERED, other, live)
    async with session_factory(engine)() as session, session.begin():
        ended = await end_lost_calls(session, {"8.8"}, NOW)
    assert sorted(ended) == ["1764590000.12", "9.9"]
    record = await _record(engine)
    assert record.outcome is CallOutcome.ANSWERED and record.ended_at == NOW
    assert record.end_reason == LOST_REASON and record.talk_s == (NOW - at(9)).total_seconds()
    async with session_factory(engine)() as session:
        gone = await session.get(CallRecord, "9.9")
        still = await session.get(CallRecord, "8.8")
    assert gone is not None and gone.outcome is CallOutcome.ABANDONED
    assert still is not None and still.outcome is CallOutcome.IN_PROGRESS
    async with session_factory(engine)() as session, session.begin():
        assert await end_lost_calls(session, {"8.8"}, NOW) == []  # done once


async def test_a_restated_event_is_stored_only_if_its_kind_is_not_on_record(
    engine: AsyncEngine,
) -> None:
    """A backend restarted mid-call restates the hold it reads back from Asterisk: kept out
    when the dead backend wrote it, stored (marked restated) when it had not."""
    held = CallEventFact(CallEventKind.HELD, at(20), "1001")
    restated = [CallEventFact(CallEventKind.HELD, at(31), "1001", restated=True),
                CallEventFact(CallEventKind.MUTED, at(31), "1001", restated=True)]  # fmt: skip
    await _write(engine, QUEUED, ANSWERED, CallUpdate(ANSWERED.facts, (held,)))
    await _write(engine, CallUpdate(ANSWERED.facts, tuple(restated)))
    async with session_factory(engine)() as session:
        rows = (await session.scalars(
            select(CallEvent).where(CallEvent.kind.in_([CallEventKind.HELD, CallEventKind.MUTED]))
            .order_by(CallEvent.at, CallEvent.kind)
        )).all()  # fmt: skip
    assert [(r.kind, r.at, r.detail) for r in rows] == [
        (CallEventKind.HELD, at(20), {}),
        (CallEventKind.MUTED, at(31), {"restated": True}),
    ]
