"""The checker as the backend runs it: woken by ended calls, alarming on a real tmpfs that
runs full, surviving a failing database. A real SQLite CRM database; we run as root."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from crm.db.call_models import CallRecord, Recording
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.migrate import migrate
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.domain.clock import utc_now
from crm.jobs.overdue_sweep import system_actor
from recordings.checker import SYSTEM_USER, RecordingChecker
from recordings.store import RecordingStore

FINISHED = Path(__file__).parents[2] / "fixtures" / "recordings" / "asterisk_mixmonitor.wav"
WRITING = FINISHED.with_name("asterisk_mixmonitor_writing.wav")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs as the recordings directory."""
    path = tmp_path / "recordings"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    await migrate(engine)
    yield session_factory(engine)
    await engine.dispose()


async def until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def rounds_after_wake(job: RecordingChecker) -> None:
    """Wake the job and wait for the round it runs."""
    seen = job.stats.rounds + job.stats.failures
    job.wake()
    await until(lambda: job.stats.rounds + job.stats.failures > seen)


async def test_the_disk_alarm_is_raised_when_space_runs_low_and_cleared_when_it_returns(
    disk: Path, sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    job = RecordingChecker(sessions, RecordingStore(disk), interval_s=3600, min_free_mb=2)
    async with job:
        await until(lambda: job.stats.rounds == 1)
        assert job.alarms() == {} and job.stats.disk_free_mb == pytest.approx(4, abs=0.1)

        (disk / "big.bin").write_bytes(b"\0" * (3 << 20))  # 1 MB left
        with caplog.at_level(logging.INFO, logger="recordings.checker"):
            await rounds_after_wake(job)
            alarm = job.alarms()["recordings_disk_low"]
            assert alarm == "1.0 MB free for recordings, below the 2 MB set"
            await rounds_after_wake(job)  # still low: not logged again
            (disk / "big.bin").unlink()
            await rounds_after_wake(job)
        assert job.alarms() == {}
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        ("ERROR", f"recordings disk low: {alarm}"),
        ("INFO", "recordings disk has room again: 4 MB free"),
    ]


async def test_an_unusable_directory_raises_the_alarm(
    tmp_path: Path, sessions: SessionFactory
) -> None:
    job = RecordingChecker(sessions, RecordingStore(tmp_path / "nowhere"), interval_s=3600,
                           min_free_mb=0)  # fmt: skip
    async with job:
        await until(lambda: job.stats.rounds == 1)
        assert job.alarms() == {"recordings_disk_low": "recordings directory unusable"}


async def test_waking_checks_at_once_and_a_failing_round_does_not_end_the_loop(
    disk: Path, sessions: SessionFactory
) -> None:
    job = RecordingChecker(sessions, RecordingStore(disk), interval_s=3600, min_free_mb=0)
    async with job:
        await until(lambda: job.stats.rounds == 1)
        async with sessions() as session, session.begin():
            await session.execute(text("ALTER TABLE recordings RENAME TO recordings_away"))
        await rounds_after_wake(job)
        assert job.stats.failures == 1
        async with sessions() as session, session.begin():
            await session.execute(text("ALTER TABLE recordings_away RENAME TO recordings"))

        name = "20261201/1700000009.1.wav"
        (disk / "20261201").mkdir()
        shutil.copy(FINISHED, disk / name)
        ended = utc_now() - timedelta(seconds=1)
        async with sessions() as session, session.begin():
            session.add(CallRecord(linkedid="1700000009.1", started_at=ended, ended_at=ended,
                                   outcome=CallOutcome.ANSWERED, updated_at=ended))  # fmt: skip
            await session.flush()
            session.add(Recording(linkedid="1700000009.1", path=name, created_at=ended,
                                  status=RecordingStatus.PENDING))  # fmt: skip
        await rounds_after_wake(job)  # an hour before the next timed round
        assert job.stats.attached == 1
        async with sessions() as session:
            row = await session.get(Recording, 1)
            assert row is not None and row.status is RecordingStatus.ATTACHED


def fill(filler: Path) -> None:
    """Write until the file system is full."""
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        while out.write(b"\0" * (1 << 16)):
            pass


async def test_a_repair_that_finds_the_disk_full_leaves_the_file_as_it_was(
    disk: Path, sessions: SessionFactory
) -> None:
    name = "20261201/1700000010.1.wav"
    (disk / "20261201").mkdir()
    shutil.copy(WRITING, disk / name)  # never finished: the checker would repair it
    original = (disk / name).read_bytes()
    fill(disk / "filler.bin")
    a_minute_ago = time.time() - 60
    os.utime(disk / name, (a_minute_ago, a_minute_ago))
    ended = utc_now() - timedelta(minutes=1)
    async with sessions() as session, session.begin():
        session.add(CallRecord(linkedid="1700000010.1", started_at=ended, ended_at=ended,
                               outcome=CallOutcome.ANSWERED, updated_at=ended))  # fmt: skip
        await session.flush()
        session.add(Recording(linkedid="1700000010.1", path=name, created_at=ended,
                              status=RecordingStatus.PENDING))  # fmt: skip
    job = RecordingChecker(sessions, RecordingStore(disk), interval_s=3600, min_free_mb=0)
    await job.check_once(await system_actor(sessions, SYSTEM_USER))
    async with sessions() as session:
        row = await session.get(Recording, 1)
    assert row is not None and row.status is RecordingStatus.TRUNCATED
    assert row.problem.endswith("; not repaired: No space left on device"), row.problem
    assert (disk / name).read_bytes() == original
    assert sorted(p.name for p in (disk / "20261201").iterdir()) == ["1700000010.1.wav"]
