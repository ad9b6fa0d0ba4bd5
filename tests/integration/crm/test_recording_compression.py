"""The compression job on real WAV files and sox, on SQLite and PostgreSQL: a verified Ogg
copy replaces the WAV only after the row points at it; a failed, unverified or interrupted
conversion never leaves a recording without its file."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import recordings.compress as compress
from crm.db.call_models import Recording
from crm.db.engine import SessionFactory, session_factory
from crm.db.models import AuditEntry, OrderCall
from crm.domain.enums import Status
from crm.jobs.overdue_sweep import system_actor
from recordings import upkeep_jobs
from recordings.compress import Tools
from recordings.upkeep_jobs import MAX_ATTEMPTS, SYSTEM_USER, Compressor
from tests.integration.crm.recording_seed import (
    NOW,
    add_call,
    add_order,
    add_recording,
    registrar,
)
from tests.support.sox_files import decodes, file_type, make_wav, soxi_duration

WAV = "20260601/1780000000.1.wav"
OGG = "20260601/1780000000.1.ogg"


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return session_factory(engine)


async def seed_wav(sessions: SessionFactory, root: Path, seconds: float = 3.2) -> tuple[int, str]:
    digest = make_wav(root / WAV, seconds)
    async with sessions() as session, session.begin():
        add_call(session, "1780000000.1", NOW - timedelta(minutes=10))
        await session.flush()
        row = add_recording(session, "1780000000.1", WAV, digest, NOW - timedelta(minutes=9))
        await session.flush()
        return row.id, digest


def compressor(sessions: SessionFactory, root: Path, tools: Tools = compress.SOX) -> Compressor:
    return Compressor(sessions, root, quality=0, after_s=60, interval_s=3600, tools=tools,
                      clock=lambda: NOW)  # fmt: skip


async def row_of(sessions: SessionFactory, recording_id: int) -> Recording:
    async with sessions() as session:
        row = await session.get(Recording, recording_id)
        assert row is not None
        return row


async def test_a_checked_wav_becomes_a_verified_ogg(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    recording_id, wav_sha = await seed_wav(sessions, tmp_path)
    wav_size = (tmp_path / WAV).stat().st_size
    job = compressor(sessions, tmp_path)
    await job.run_once()

    ogg = tmp_path / OGG
    assert not (tmp_path / WAV).exists()
    assert decodes(ogg)
    assert abs(soxi_duration(ogg) - 3.2) <= 0.1
    assert file_type(ogg) == "vorbis"
    row = await row_of(sessions, recording_id)
    assert (row.path, row.format) == (OGG, "ogg")
    assert row.sha256 == hashlib.sha256(ogg.read_bytes()).hexdigest()
    assert row.source_sha256 == wav_sha
    assert row.size_bytes == ogg.stat().st_size < wav_size / 4
    assert row.compressed_at == NOW
    assert list((tmp_path / "20260601").iterdir()) == [ogg]  # no temporary copy left
    assert job.compressed == 1


async def test_young_recordings_wait(sessions: SessionFactory, tmp_path: Path) -> None:
    recording_id, _ = await seed_wav(sessions, tmp_path)
    job = Compressor(sessions, tmp_path, quality=0, after_s=3600, interval_s=3600,
                     clock=lambda: NOW)  # fmt: skip
    await job.run_once()
    assert (tmp_path / WAV).exists() and (await row_of(sessions, recording_id)).format == "wav"


async def test_failing_sox_keeps_the_wav_and_retries_a_bounded_number_of_times(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    recording_id, wav_sha = await seed_wav(sessions, tmp_path)
    job = compressor(sessions, tmp_path, Tools(sox="false"))
    for _ in range(MAX_ATTEMPTS + 2):
        await job.run_once()
    assert job.attempts[recording_id] == MAX_ATTEMPTS
    assert hashlib.sha256((tmp_path / WAV).read_bytes()).hexdigest() == wav_sha
    row = await row_of(sessions, recording_id)
    assert (row.path, row.format, row.sha256, row.compressed_at) == (WAV, "wav", wav_sha, None)
    assert list((tmp_path / "20260601").iterdir()) == [tmp_path / WAV]


async def test_a_copy_that_is_too_short_is_not_taken(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    """sox "succeeds" but drops the end: the duration check refuses the copy."""
    recording_id, _ = await seed_wav(sessions, tmp_path)
    short_sox = tmp_path / "short-sox"
    short_sox.write_text('#!/bin/sh\n[ "$3" = "-n" ] && exec sox "$@"\nexec sox "$@" trim 0 2\n')
    short_sox.chmod(0o755)
    await compressor(sessions, tmp_path, Tools(sox=str(short_sox))).run_once()
    assert (await row_of(sessions, recording_id)).format == "wav"
    assert sorted(p.name for p in (tmp_path / "20260601").iterdir()) == [Path(WAV).name]


async def test_a_crash_before_the_commit_leaves_the_wav(
    sessions: SessionFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording_id, _ = await seed_wav(sessions, tmp_path)

    async def dies(*_args: object) -> bool:
        raise SystemExit("killed at the commit")

    monkeypatch.setattr(compress, "record_compressed", dies)
    with pytest.raises(SystemExit):
        await compress.compress_one(
            sessions,
            tmp_path,
            await row_of(sessions, recording_id),
            0,
            NOW,
            await system_actor(sessions, SYSTEM_USER),
        )
    assert (tmp_path / WAV).exists()  # the WAV, and the copy that no row names yet
    assert (await row_of(sessions, recording_id)).path == WAV
    monkeypatch.undo()
    await compressor(sessions, tmp_path).run_once()  # the next run redoes it
    assert (await row_of(sessions, recording_id)).path == OGG and not (tmp_path / WAV).exists()


async def test_a_crash_after_the_commit_leaves_both_and_the_next_run_removes_the_wav(
    sessions: SessionFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording_id, _ = await seed_wav(sessions, tmp_path)
    real_unlink = Path.unlink

    def dies_on_the_wav(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".wav":
            raise SystemExit("killed before removing the WAV")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", dies_on_the_wav)
    with pytest.raises(SystemExit):
        await compress.compress_one(
            sessions,
            tmp_path,
            await row_of(sessions, recording_id),
            0,
            NOW,
            await system_actor(sessions, SYSTEM_USER),
        )
    monkeypatch.undo()
    assert (tmp_path / WAV).exists() and (tmp_path / OGG).exists()
    assert (await row_of(sessions, recording_id)).path == OGG
    await compressor(sessions, tmp_path).run_once()
    assert not (tmp_path / WAV).exists() and (tmp_path / OGG).exists()


async def test_an_altered_wav_is_not_compressed(sessions: SessionFactory, tmp_path: Path) -> None:
    recording_id, _ = await seed_wav(sessions, tmp_path)
    with (tmp_path / WAV).open("r+b") as f:
        f.seek(2000)
        f.write(b"\x7f" * 16)
    await compressor(sessions, tmp_path).run_once()
    assert (await row_of(sessions, recording_id)).format == "wav" and (tmp_path / WAV).exists()
    assert not (tmp_path / OGG).exists()


async def test_every_page_of_due_recordings_is_compressed(
    sessions: SessionFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upkeep_jobs, "BATCH", 1)
    async with sessions() as session, session.begin():
        for n in range(3):
            path = f"20260601/1780000100.{n}.wav"
            add_call(session, f"1780000100.{n}", NOW - timedelta(minutes=10))
            await session.flush()
            add_recording(session, f"1780000100.{n}", path, make_wav(tmp_path / path, 0.3),
                          NOW - timedelta(minutes=9))  # fmt: skip
    job = compressor(sessions, tmp_path)
    await job.run_once()
    assert job.compressed == 3
    assert sorted(p.name for p in (tmp_path / "20260601").iterdir()) == [
        "1780000100.0.ogg", "1780000100.1.ogg", "1780000100.2.ogg"
    ]  # fmt: skip


async def test_the_order_names_the_ogg_copy_once_compressed(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    """The order's recording (`order_calls.recording`) follows the row to the copy, audited:
    it never names the WAV the job deleted."""
    recording_id, _ = await seed_wav(sessions, tmp_path)
    async with sessions() as session, session.begin():
        user_id = await registrar(session)
        order = add_order(session, user_id, "SZ-C-1", "1780000000.1", Status.DISPATCHED, None)
        order.calls[0].recording = WAV
    await compressor(sessions, tmp_path).run_once()

    async with sessions() as session:
        link = await session.scalar(select(OrderCall).where(OrderCall.order_id == order.id))
        trail = list(await session.scalars(
            select(AuditEntry).where(AuditEntry.order_id == order.id)
        ))  # fmt: skip
    assert link is not None and link.recording == OGG and (tmp_path / OGG).exists()
    [entry] = [e for e in trail if e.action == "recording_compressed"]
    assert entry.detail["from"] == WAV and entry.detail["path"] == OGG
    assert entry.detail["recording_id"] == recording_id
