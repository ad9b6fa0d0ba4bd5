"""Retention on SQLite and PostgreSQL: only recordings of calls whose orders are all closed
(or that were disposed without an order) and old enough are removed, file and row."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.call_models import Recording
from crm.db.engine import session_factory
from crm.db.models import WorkOrder
from crm.domain.calls import Disposition, RecordingStatus
from crm.domain.enums import Status
from crm.usecases.recording_upkeep import record_removed
from recordings import upkeep_jobs
from recordings.upkeep_jobs import Retention
from tests.integration.crm.recording_seed import (
    NOW,
    add_call,
    add_order,
    add_recording,
    registrar,
)
from tests.support.sox_files import make_wav

DAYS = 90
OLD = NOW - timedelta(days=DAYS + 1)
RECENT = NOW - timedelta(days=DAYS - 1)
LONG_AGO = NOW - timedelta(days=400)

# linkedid: (orders as (status, closed_at), disposition, removed?)
Case = tuple[list[tuple[Status, datetime | None]], Disposition | None, bool]
CASES: dict[str, Case] = {
    "1750000001.1": ([(Status.CLOSED, OLD)], None, True),
    "1750000002.2": ([(Status.CLOSED, RECENT)], None, False),
    "1750000003.3": ([(Status.DISPATCHED, None)], None, False),
    "1750000004.4": ([(Status.CLOSED, OLD), (Status.REPLIED, None)], None, False),
    "1750000005.5": ([], Disposition.WRONG_NUMBER, True),
    "1750000006.6": ([], None, False),
}


async def test_retention_removes_only_closed_and_old(engine: AsyncEngine, tmp_path: Path) -> None:
    sessions = session_factory(engine)
    digests = {}
    async with sessions() as session, session.begin():
        user_id = await registrar(session)
        for n, (linkedid, (orders, disposition, _)) in enumerate(CASES.items()):
            ended = OLD if disposition else LONG_AGO
            add_call(session, linkedid, ended, disposition=disposition)
            for m, (status, closed_at) in enumerate(orders):
                add_order(session, user_id, f"SZ-{n}-{m}", linkedid, status, closed_at)
            path = f"20250401/{linkedid}.wav"
            digests[linkedid] = make_wav(tmp_path / path, 0.5)
            await session.flush()
            add_recording(session, linkedid, path, digests[linkedid], LONG_AGO)

    job = Retention(sessions, tmp_path, retention_days=DAYS, interval_s=3600, clock=lambda: NOW)
    await job.run_once()

    async with sessions() as session:
        rows = {r.linkedid: r for r in await session.scalars(select(Recording))}
    for linkedid, (_, _, removed) in CASES.items():
        row, on_disk = rows[linkedid], (tmp_path / rows[linkedid].path).exists()
        if removed:
            assert row.status is RecordingStatus.REMOVED and row.removed_at == NOW, linkedid
            assert not on_disk, linkedid
        else:
            assert row.status is RecordingStatus.ATTACHED and row.removed_at is None, linkedid
            assert on_disk, linkedid
    assert job.removed == 2


async def test_a_file_left_by_a_crash_after_the_commit_goes_next_time(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    path = "20250401/1750000007.7.wav"
    async with sessions() as session, session.begin():
        add_call(session, "1750000007.7", LONG_AGO, disposition=Disposition.TEST)
        await session.flush()
        row = add_recording(session, "1750000007.7", path, make_wav(tmp_path / path, 0.5), LONG_AGO,
                            RecordingStatus.REMOVED)  # fmt: skip
        row.removed_at = NOW - timedelta(hours=1)
    await Retention(sessions, tmp_path, retention_days=DAYS, interval_s=3600,
                    clock=lambda: NOW).run_once()  # fmt: skip
    assert not (tmp_path / path).exists()


async def test_many_kept_recordings_never_hide_one_that_is_due(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upkeep_jobs, "BATCH", 2)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        user_id = await registrar(session)
        for n in range(5):
            linkedid = f"1750000100.{n}"
            add_call(session, linkedid, LONG_AGO)
            due = n == 4  # the newest row, on the third page
            status, closed = (Status.CLOSED, OLD) if due else (Status.DISPATCHED, None)
            add_order(session, user_id, f"SZ-P-{n}", linkedid, status, closed)
            path = f"20250401/{linkedid}.wav"
            await session.flush()
            add_recording(session, linkedid, path, make_wav(tmp_path / path, 0.2), LONG_AGO)
    job = Retention(sessions, tmp_path, retention_days=DAYS, interval_s=3600, clock=lambda: NOW)
    await job.run_once()
    assert job.removed == 1 and not (tmp_path / "20250401/1750000100.4.wav").exists()


async def test_an_order_reopened_after_the_decision_keeps_its_recording(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Retention decided from a snapshot; the order was reopened before the row is marked."""
    sessions = session_factory(engine)
    path = "20250401/1750000200.1.wav"
    async with sessions() as session, session.begin():
        user_id = await registrar(session)
        add_call(session, "1750000200.1", LONG_AGO)
        order = add_order(session, user_id, "SZ-R-1", "1750000200.1", Status.CLOSED, OLD)
        await session.flush()
        row = add_recording(session, "1750000200.1", path, make_wav(tmp_path / path, 0.2),
                            LONG_AGO)  # fmt: skip
    async with sessions() as session, session.begin():  # reopened after the snapshot
        await session.execute(
            update(WorkOrder).where(WorkOrder.id == order.id).values(status=Status.DISPATCHED)
        )
    async with sessions() as session, session.begin():
        assert not await record_removed(session, row.id, path, NOW)
    async with sessions() as session:
        kept = await session.get(Recording, row.id)
    assert kept is not None and kept.status is RecordingStatus.ATTACHED


async def test_a_removed_row_with_an_unsafe_path_deletes_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    root, outside = tmp_path / "recordings", tmp_path / "precious.wav"
    root.mkdir()
    make_wav(outside, 0.2)
    async with sessions() as session, session.begin():
        add_call(session, "1750000300.1", LONG_AGO, disposition=Disposition.TEST)
        await session.flush()
        row = add_recording(session, "1750000300.1", "../precious.wav", "0" * 64, LONG_AGO,
                            RecordingStatus.REMOVED)  # fmt: skip
        row.removed_at = NOW - timedelta(hours=1)
    await Retention(sessions, root, retention_days=DAYS, interval_s=3600,
                    clock=lambda: NOW).run_once()  # fmt: skip
    assert outside.exists()
