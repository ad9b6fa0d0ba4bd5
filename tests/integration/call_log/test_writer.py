"""The call log's writer on a real database: recorded AMI traffic in, records out; a database
that is away makes the backlog grow, never the listener wait, and nothing is lost."""

import asyncio
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from call_log.writer import CallLog, running_call_log
from crm.db.call_models import CallRecord, Recording
from crm.db.engine import create_engine, session_factory
from crm.domain.call_progress import CallEventFact, CallFacts, CallUpdate
from crm.domain.calls import CallEventKind, CallOutcome, RecordingStatus
from hotline_cli.tasks import Tasks
from telephony.events import QueueMembersListed
from telephony.tracker import CallTracker
from tests.support.ami_replay import load_stream, replay

EMERGENCY = ("110", "119", "120")


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (the writer's progress has no event to await)
            await asyncio.sleep(0.02)


async def _outcomes(engine: AsyncEngine) -> dict[str, CallOutcome]:
    async with session_factory(engine)() as session:
        rows = await session.execute(select(CallRecord.linkedid, CallRecord.outcome))
        return {linkedid: outcome for linkedid, outcome in rows}


async def test_recorded_calls_become_records(engine: AsyncEngine) -> None:
    ended: list[str] = []
    tracker = CallTracker()
    async with running_call_log(session_factory(engine), tracker, EMERGENCY, Tasks().supervised,
                                on_call_ended=ended.append) as call_log:  # fmt: skip
        for name in ("answered", "abandoned", "ivr_hangup", "complaint_choice"):
            _t, effects, _m = replay(load_stream(name), tracker)
            for effect in effects:
                await call_log.on_call(effect)
        await _until(lambda: len(ended) == 4)
    # Linkedids and outcomes as in the recorded traffic (tests/fixtures/ami)
    assert await _outcomes(engine) == {
        "1795307173.0": CallOutcome.ANSWERED,
        "1795307184.5": CallOutcome.ABANDONED,
        "1795307182.4": CallOutcome.IVR_HANGUP,
        "1795307178.2": CallOutcome.ANSWERED,
    }
    assert sorted(ended) == ["1795307173.0", "1795307178.2", "1795307182.4", "1795307184.5"]
    async with session_factory(engine)() as session:
        recordings = (await session.scalars(select(Recording).order_by(Recording.path))).all()
        complaint = await session.get(CallRecord, "1795307178.2")
    assert [r.path for r in recordings] == [
        "20261122/1795307173.0.wav",
        "20261122/1795307178.2.wav",
    ]
    assert all(r.status is RecordingStatus.PENDING for r in recordings)
    # the IVR's choice replaced the dialplan's default queue
    assert complaint is not None and complaint.queue == "complaint"


async def test_a_resync_ends_records_asterisk_no_longer_has(engine: AsyncEngine) -> None:
    first = CallTracker()
    _t, effects, _m = replay(load_stream("answered"), first)
    talking = next(e for e in effects if e.call.answered_at is not None)  # killed mid-call
    ended: list[str] = []
    sessions = session_factory(engine)
    supervise = Tasks().supervised
    async with running_call_log(
        sessions, CallTracker(), EMERGENCY, supervise, on_call_ended=ended.append
    ) as call_log:
        await call_log.on_call(talking)
        await call_log.on_event(QueueMembersListed(0.0, ()))  # the re-sync: no calls now
        await _until(lambda: ended == ["1795307173.0"])
    assert await _outcomes(engine) == {"1795307173.0": CallOutcome.ANSWERED}


async def test_a_database_away_grows_the_backlog_and_loses_nothing(
    tmp_path: Path, sqlite_template: Path
) -> None:
    place = tmp_path / "later" / "crm.db"  # its directory does not exist yet: writes fail
    engine = create_engine(f"sqlite:///{place}")
    tracker = CallTracker()
    try:
        async with running_call_log(session_factory(engine), tracker, EMERGENCY,
                                    Tasks().supervised) as call_log:  # fmt: skip
            _t, effects, _m = replay(load_stream("answered"), tracker)
            loop = asyncio.get_running_loop()
            started = loop.time()
            for effect in effects:
                await call_log.on_call(effect)
            assert loop.time() - started < 0.05  # the listener never waited
            await _until(lambda: call_log.stats.failures >= 2)
            assert call_log.backlog == len(effects)
            place.parent.mkdir()
            shutil.copy(sqlite_template, place)
            await _until(lambda: call_log.backlog == 0, timeout=20)
        assert call_log.stats.written == len(effects) and call_log.stats.rejected == 0
        assert await _outcomes(engine) == {"1795307173.0": CallOutcome.ANSWERED}
    finally:
        await engine.dispose()


def test_the_call_log_is_a_supervised_task_on_health(tmp_path: Path) -> None:
    tasks = Tasks()

    async def main() -> dict[str, dict[str, int]]:
        engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
        async with running_call_log(session_factory(engine), CallTracker(), EMERGENCY,
                                    tasks.supervised) as call_log:  # fmt: skip
            assert isinstance(call_log, CallLog)
            report = tasks.report()
        await engine.dispose()
        return report

    assert "call log writer" in asyncio.run(main())


async def test_an_update_the_database_refuses_is_set_aside_the_others_written(
    engine: AsyncEngine,
) -> None:
    good = [CallUpdate(CallFacts(linkedid=f"7.{i}", started_at=datetime(2026, 12, 1)))
            for i in range(2)]  # fmt: skip
    bad = CallUpdate(CallFacts(linkedid="7.9", started_at=None))  # type: ignore[arg-type]
    async with running_call_log(session_factory(engine), CallTracker(), EMERGENCY,
                                Tasks().supervised) as call_log:  # fmt: skip
        for item in (good[0], bad, good[1]):
            call_log._put(item)  # what on_call appends, a refused row among them
        await _until(lambda: call_log.backlog == 0)
    assert call_log.stats.rejected == 1 and call_log.stats.written == 2
    assert set(await _outcomes(engine)) == {"7.0", "7.1"}


async def test_a_refused_free_text_is_blanked_and_the_call_kept(engine: AsyncEngine) -> None:
    # Text the mapping did not foresee (here NUL, which PostgreSQL refuses): the call is kept
    # with its free text blanked, never set aside with its recording unchecked.
    start = datetime(2026, 12, 1, 9, 0)
    facts = CallFacts(linkedid="8.1", started_at=start, outcome=CallOutcome.ANSWERED,
                      caller_number="13900000001", caller_name="张\x00三", queue="hotline",
                      answered_at=start, agent_extension="1001", agent_name="李\x00四",
                      end_reason="caller hung up\x00")  # fmt: skip
    event = CallEventFact(CallEventKind.ENDED, start, "", {"reason": "caller hung up\x00"})
    bad = CallUpdate(facts, (event,), recording="20261201/8.1.wav")
    async with running_call_log(session_factory(engine), CallTracker(), EMERGENCY,
                                Tasks().supervised) as call_log:  # fmt: skip
        call_log._put(bad)
        await _until(lambda: call_log.backlog == 0)
    assert call_log.stats.rejected == 0 and call_log.stats.written == 1
    assert call_log.stats.blanked == (1 if engine.dialect.name == "postgresql" else 0)
    async with session_factory(engine)() as session:
        record = await session.get(CallRecord, "8.1")
        recording = await session.scalar(select(Recording).where(Recording.linkedid == "8.1"))
    assert record is not None and record.outcome is CallOutcome.ANSWERED
    assert record.queue == "hotline" and record.agent_extension == "1001"
    assert recording is not None and recording.path == "20261201/8.1.wav"
    assert recording.status is RecordingStatus.PENDING
