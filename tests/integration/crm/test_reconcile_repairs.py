"""Reconciliation's repairs where the backend was down or another job moved a row on, on
SQLite and PostgreSQL: a compressed recording is never broken by a stale read, a call answered
or ended while the backend was away takes Asterisk's times, and the periodic pass reads only
recent rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.call_models import CallRecord, Recording
from crm.db.engine import SessionFactory, session_factory
from crm.domain.calls import CallOutcome, Disposition, RecordingStatus
from crm.domain.clock import utc_now
from crm.usecases.call_records import LOST_REASON
from recordings.asterisk_witness import WitnessCall
from recordings.reconcile import Kind, Reconciler, Witness
from tests.integration.crm.recording_seed import NOW, add_call, add_recording
from tests.support.sox_files import make_wav

DAY = "20260601"
ENDED = NOW - timedelta(days=1)


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return session_factory(engine)


def witness(call: WitnessCall) -> Witness:
    return Witness({call.linkedid: call}, 0, ())


async def recording(sessions: SessionFactory, linkedid: str) -> Recording:
    async with sessions() as session:
        row = await session.scalar(select(Recording).where(Recording.linkedid == linkedid))
        assert row is not None
        return row


async def test_a_compressed_recording_marked_missing_comes_back_attached(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    """An Ogg copy has no WAV header for the checker: re-queued it would end TRUNCATED."""
    path = f"{DAY}/1780000201.1.ogg"
    digest = make_wav(tmp_path / path, 0.4)  # its bytes are what the checksum covers
    async with sessions() as session, session.begin():
        add_call(session, "1780000201.1", ENDED, disposition=Disposition.TEST)
        await session.flush()
        add_recording(session, "1780000201.1", path, digest, ENDED, RecordingStatus.MISSING)

    report = await Reconciler(sessions, tmp_path, timedelta(0)).run(NOW, None, repair=True)

    [back] = report.findings
    assert (back.kind, back.repaired) == (Kind.MISSING, "attached again")
    assert (await recording(sessions, "1780000201.1")).status is RecordingStatus.ATTACHED


async def test_a_row_compressed_while_the_pass_looks_is_not_marked_missing(
    sessions: SessionFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compressor points the row at the .ogg and deletes the WAV after the pass read it:
    the WAV's absence says nothing of the row as it is now."""
    linkedid, wav, ogg = "1780000202.2", f"{DAY}/1780000202.2.wav", f"{DAY}/1780000202.2.ogg"
    async with sessions() as session, session.begin():
        add_call(session, linkedid, ENDED, disposition=Disposition.TEST)
        await session.flush()
        add_recording(session, linkedid, wav, make_wav(tmp_path / wav, 0.4), ENDED)
    reconciler = Reconciler(sessions, tmp_path, timedelta(0))
    looks = reconciler._problem

    async def compressed_meanwhile(row: Recording, rehash: bool) -> str:
        async with sessions() as session, session.begin():
            moved = await session.get(Recording, row.id)
            assert moved is not None
            moved.path, moved.format = ogg, "ogg"
            moved.sha256 = make_wav(tmp_path / ogg, 0.4)
        (tmp_path / wav).unlink()
        return await looks(row, rehash)

    monkeypatch.setattr(reconciler, "_problem", compressed_meanwhile)
    report = await reconciler.run(NOW, None, repair=True)

    assert not report.findings
    row = await recording(sessions, linkedid)
    assert (row.path, row.status) == (ogg, RecordingStatus.ATTACHED)


async def test_a_call_answered_while_the_backend_was_down_gets_its_recording(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    """Our record guessed ABANDONED (the backend saw the caller queued, never the answer);
    Asterisk's record says an agent answered: its times, and a row for its file."""
    linkedid, path = "1780000203.3", f"{DAY}/1780000203.3.wav"
    started = ENDED - timedelta(minutes=5)
    make_wav(tmp_path / path, 0.4)
    async with sessions() as session, session.begin():
        call = add_call(session, linkedid, ENDED, answered=False)
        call.queued_at, call.end_reason = started + timedelta(seconds=10), LOST_REASON
    answered_at = started + timedelta(seconds=30)
    seen = WitnessCall(linkedid, started, ENDED - timedelta(minutes=2), queued=True,
                       answered=True, abandoned=False, answered_at=answered_at)  # fmt: skip

    # now, not NOW: the file's mtime is the real one
    report = await Reconciler(sessions, tmp_path, timedelta(0)).run(
        utc_now(), witness(seen), repair=True, live=set()
    )

    kinds = {f.kind: f for f in report.findings}
    assert kinds[Kind.ANSWERED_DISAGREES].repaired.startswith("answered, from Asterisk")
    assert report.unanswered_call_files == 0
    async with sessions() as session:
        stored = await session.get(CallRecord, linkedid)
    assert stored is not None and stored.outcome is CallOutcome.ANSWERED
    assert stored.answered_at == answered_at and stored.wait_s == 20.0
    assert stored.ended_at == seen.ended_at and stored.talk_s == 150.0  # Asterisk's end
    row = await recording(sessions, linkedid)
    assert (row.path, row.status) == (path, RecordingStatus.PENDING)


async def test_an_unanswered_calls_file_with_audio_is_listed(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    path = f"{DAY}/1780000204.4.wav"
    make_wav(tmp_path / path, 0.4)
    async with sessions() as session, session.begin():
        add_call(session, "1780000204.4", ENDED, answered=False)
    report = await Reconciler(sessions, tmp_path, timedelta(0)).run(utc_now(), None, repair=False)
    assert [(f.kind, f.linkedid, f.path) for f in report.findings] == [
        (Kind.ORPHAN_FILE, "1780000204.4", path)
    ]


async def test_an_end_guessed_at_a_restart_is_replaced_by_asterisks(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    """The re-sync ended the call at the restart's time; Asterisk saw it end earlier."""
    linkedid = "1780000205.5"
    async with sessions() as session, session.begin():
        call = add_call(session, linkedid, NOW - timedelta(hours=5), disposition=Disposition.TEST)
        call.end_reason = LOST_REASON
        assert call.answered_at is not None
        answered_at = call.answered_at
    ended = answered_at + timedelta(seconds=90)
    seen = WitnessCall(linkedid, answered_at - timedelta(seconds=20), ended, queued=True,
                       answered=True, abandoned=False, answered_at=answered_at)  # fmt: skip

    report = await Reconciler(sessions, tmp_path, timedelta(0)).run(
        NOW, witness(seen), repair=True, live=set()
    )

    [end] = [f for f in report.findings if f.kind is Kind.END_MISSING]
    assert end.repaired == "end filled in from Asterisk's record"
    async with sessions() as session:
        stored = await session.get(CallRecord, linkedid)
    assert stored is not None and stored.ended_at == ended and stored.talk_s == 90.0
    assert stored.end_reason != LOST_REASON


async def test_the_periodic_pass_reads_only_recent_rows(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    """Rows older than `recent` are the checker's re-verification's business."""
    async with sessions() as session, session.begin():
        for n, age in [(6, timedelta(days=30)), (7, timedelta(hours=1))]:
            linkedid = f"178000020{n}.{n}"
            add_call(session, linkedid, NOW - age, disposition=Disposition.TEST)
            await session.flush()
            row = add_recording(session, linkedid, f"{DAY}/{linkedid}.wav", "0" * 64, NOW - age)
            row.created_at = NOW - age  # neither file is on disk
    reconciler = Reconciler(sessions, tmp_path, timedelta(0))

    recent = await reconciler.run(NOW, None, repair=False, recent=timedelta(days=2))
    whole = await reconciler.run(NOW, None, repair=False)

    assert [f.linkedid for f in recent.findings] == ["1780000207.7"]
    assert recent.recordings_checked == 1
    assert sorted(f.linkedid for f in whole.findings) == ["1780000206.6", "1780000207.7"]
