"""Recordings checked and attached to the call's orders, on SQLite and PostgreSQL: the checker
against real files (checksums computed here with hashlib), orders saved before and after the
check, through the use cases and the API, each attachment audited exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.call_models import CallRecord, Recording
from crm.db.engine import SessionFactory, session_factory
from crm.db.models import AuditEntry, OrderCall
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.domain.clock import utc_now
from crm.domain.enums import Channel, OrderType, Role, Status
from crm.domain.lifecycle import Actor
from crm.jobs.overdue_sweep import system_actor
from crm.repo.directory import create_user
from crm.usecases import recordings as uc
from crm.usecases.call_order import TakenCall, save_call_order
from crm.usecases.register import CallRef, NewOrder, register_order
from recordings.checker import SYSTEM_USER, RecordingChecker
from recordings.store import RecordingStore
from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIXTURES = Path(__file__).parents[2] / "fixtures" / "recordings"
FINISHED = FIXTURES / "asterisk_mixmonitor.wav"
WRITING = FIXTURES / "asterisk_mixmonitor_writing.wav"
CALENDAR = ChineseWorkCalendar()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return session_factory(engine)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "recordings"
    path.mkdir()
    return path


def checker(sessions: SessionFactory, root: Path, **kwargs: float) -> RecordingChecker:
    return RecordingChecker(
        sessions, RecordingStore(root), interval_s=3600, min_free_mb=0, **kwargs
    )


def put(root: Path, name: str, source: Path = FINISHED) -> str:
    """A recording file in place; its SHA-256, computed here."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def altered_copy(data: bytes) -> bytes:
    """Three samples changed: same size, same header, only the checksum tells."""
    return data[:1000] + b"\x00\x01\x02" + data[1003:]


async def ended_call(
    sessions: SessionFactory, linkedid: str, name: str, ended_s_ago: float = 60
) -> int:
    """A call that ended with its recording PENDING (what the call log stores); its id."""
    ended = utc_now() - timedelta(seconds=ended_s_ago)
    async with sessions() as session, session.begin():
        session.add(CallRecord(linkedid=linkedid, started_at=ended - timedelta(minutes=2),
                               answered_at=ended - timedelta(minutes=1), ended_at=ended,
                               outcome=CallOutcome.ANSWERED, updated_at=ended))  # fmt: skip
        await session.flush()
        row = Recording(linkedid=linkedid, part=1, path=name, status=RecordingStatus.PENDING,
                        created_at=ended)  # fmt: skip
        session.add(row)
        await session.flush()
        return row.id


async def agent(sessions: SessionFactory) -> Actor:
    async with sessions() as session, session.begin():
        user, _ = await create_user(session, "受理员", Role.AGENT, None)
        return Actor(user.id, Role.AGENT, None)


async def register(
    sessions: SessionFactory, actor: Actor, linkedid: str, recording: str = ""
) -> int:
    async with sessions() as session, session.begin():
        order = await register_order(
            session, NewOrder(Channel.PHONE, "噪音扰民", OrderType.COMPLAINT,
                              calls=(CallRef(linkedid, recording),)),
            actor, centre_code="LY", now=utc_now(), calendar=CALENDAR,
        )  # fmt: skip
        return order.id


async def recording(sessions: SessionFactory, recording_id: int) -> Recording:
    async with sessions() as session:
        row = await session.get(Recording, recording_id)
        assert row is not None
        return row


async def entries(sessions: SessionFactory, order_id: int) -> list[AuditEntry]:
    async with sessions() as session:
        found = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.order_id == order_id, AuditEntry.action == "recording_attached")
            .order_by(AuditEntry.id)
        )
        return list(found)


async def order_recording(sessions: SessionFactory, order_id: int) -> str:
    async with sessions() as session:
        query = select(OrderCall.recording).where(OrderCall.order_id == order_id)
        found = await session.scalar(query)
        assert found is not None
        return found


async def test_pending_recording_is_attached_to_the_order_saved_before(
    sessions: SessionFactory, root: Path
) -> None:
    name = "20261201/1700000001.5.wav"
    digest = put(root, name)
    taker = await agent(sessions)
    order_id = await register(sessions, taker, "1700000001.5")  # before the file is checked
    recording_id = await ended_call(sessions, "1700000001.5", name)
    job = checker(sessions, root)
    system = await system_actor(sessions, SYSTEM_USER)
    async with sessions() as session:
        (pending,) = await uc.pending_recordings(session)

    await job.check_once(system)
    row = await recording(sessions, recording_id)
    assert row.status is RecordingStatus.ATTACHED
    assert row.sha256 == row.source_sha256 == digest
    assert row.size_bytes == FINISHED.stat().st_size
    assert row.duration_s == pytest.approx((FINISHED.stat().st_size - 44) / 16000, abs=0.001)
    assert row.checked_at is not None and row.verified_at is not None
    assert await order_recording(sessions, order_id) == name

    (entry,) = await entries(sessions, order_id)
    assert entry.actor_id == system.user_id
    assert entry.from_status is entry.to_status is Status.REGISTERED
    assert entry.detail == {"recording_id": recording_id, "linkedid": "1700000001.5",
                            "path": name, "sha256": digest, "duration_s": row.duration_s}
    await job.check_once(system)  # nothing pending any more: nothing written again
    async with sessions() as session, session.begin():  # a second checker, late: a no-op
        stale = uc.CheckedFile(1, 1.0, "0" * 64)
        assert await uc.mark_attached(session, pending, stale, system, utc_now()) is None
    assert (await recording(sessions, recording_id)).sha256 == digest
    assert len(await entries(sessions, order_id)) == 1


async def test_an_order_saved_after_the_check_is_attached_once(
    sessions: SessionFactory, root: Path
) -> None:
    name = "20261201/1700000002.7.wav"
    digest = put(root, name)
    recording_id = await ended_call(sessions, "1700000002.7", name)
    job = checker(sessions, root)
    await job.check_once(await system_actor(sessions, SYSTEM_USER))
    taker = await agent(sessions)

    call = TakenCall("1700000002.7", "13800000000", "张三")  # the desk knows no recording name
    async with sessions() as session, session.begin():
        saved = await save_call_order(session, {"order_type": "complaint", "text": "路灯不亮"},
                                      call, taker, centre_code="LY", now=utc_now(),
                                      calendar=CALENDAR)  # fmt: skip
    order_id = saved["order_id"]
    assert await order_recording(sessions, order_id) == name
    (entry,) = await entries(sessions, order_id)
    assert entry.actor_id == taker.user_id and entry.detail["sha256"] == digest
    assert entry.detail["recording_id"] == recording_id

    async with sessions() as session, session.begin():  # saved again: an amendment
        await save_call_order(session, {"order_type": "complaint", "text": "路灯不亮",
                                        "location": "人民路"}, call, taker, centre_code="LY",
                              now=utc_now(), calendar=CALENDAR)  # fmt: skip
    async with sessions() as session, session.begin():
        again = await uc.attach_to_orders(session, "1700000002.7", taker, utc_now())
    assert again == []
    assert len(await entries(sessions, order_id)) == 1


async def test_linking_a_call_over_the_api_attaches_its_checked_recording_once(
    api: Api, engine: AsyncEngine, root: Path
) -> None:
    sessions = session_factory(engine)
    name = "20261201/1700000003.9.wav"
    put(root, name)
    recording_id = await ended_call(sessions, "1700000003.9", name)
    await checker(sessions, root).check_once(await system_actor(sessions, SYSTEM_USER))
    order = await api.new_order()
    for _ in range(2):  # the second link is a repeat: nothing new
        status, body = await api.post(f"/api/orders/{order['id']}/calls",
                                      {"linkedid": "1700000003.9"})  # fmt: skip
        assert status == 200, body
        (linked,) = body["calls"]
        assert (linked["linkedid"], linked["recording"]) == ("1700000003.9", name)
    attached = [e for e in await api.audit(order["id"]) if e["action"] == "recording_attached"]
    assert [e["detail"]["recording_id"] for e in attached] == [recording_id]
    assert attached[0]["from_status"] == attached[0]["to_status"] == "registered"


async def test_a_recording_given_by_the_form_is_kept_and_audited(
    sessions: SessionFactory, root: Path
) -> None:
    name = "20261201/1700000004.1.wav"
    put(root, name)
    recording_id = await ended_call(sessions, "1700000004.1", name)
    await checker(sessions, root).check_once(await system_actor(sessions, SYSTEM_USER))
    order_id = await register(sessions, await agent(sessions), "1700000004.1", name)
    assert await order_recording(sessions, order_id) == name
    assert [e.detail["recording_id"] for e in await entries(sessions, order_id)] == [recording_id]


async def test_files_not_finished_wait_for_the_grace_period_then_are_reported(
    sessions: SessionFactory, root: Path
) -> None:
    absent = await ended_call(sessions, "1700000005.1", "20261201/1700000005.1.wav")
    put(root, "20261201/1700000005.2.wav", WRITING)
    writing = await ended_call(sessions, "1700000005.2", "20261201/1700000005.2.wav")
    empty = "20261201/1700000005.3.wav"  # only the header MixMonitor writes first
    put(root, empty, WRITING)
    (root / empty).write_bytes(WRITING.read_bytes()[:44])
    no_audio = await ended_call(sessions, "1700000005.3", empty)
    system = await system_actor(sessions, SYSTEM_USER)

    await checker(sessions, root, grace_s=3600).check_once(system)  # ended a minute ago
    for recording_id in (absent, writing, no_audio):
        assert (await recording(sessions, recording_id)).status is RecordingStatus.PENDING

    job = checker(sessions, root, grace_s=10)
    await job.check_once(system)  # the unfinished files changed just now: still written to
    for recording_id in (writing, no_audio):
        assert (await recording(sessions, recording_id)).status is RecordingStatus.PENDING
    assert (await recording(sessions, absent)).status is RecordingStatus.MISSING
    a_minute_ago = time.time() - 60
    for name in ("20261201/1700000005.2.wav", empty):
        os.utime(root / name, (a_minute_ago, a_minute_ago))
    await job.check_once(system)
    missing, truncated = await recording(sessions, absent), await recording(sessions, no_audio)
    assert (missing.status, missing.problem) == (RecordingStatus.MISSING, "no file")
    assert truncated.status is RecordingStatus.TRUNCATED
    assert truncated.problem == (
        "header sizes (riff 0, data 0) do not agree with the file's 44 bytes"
    )
    repaired = await recording(sessions, writing)  # its audio kept (test_recording_repair.py)
    assert repaired.status is RecordingStatus.ATTACHED
    assert (job.stats.missing, job.stats.truncated, job.stats.repaired) == (1, 1, 1)


async def test_a_bad_row_does_not_stop_the_others(sessions: SessionFactory, root: Path) -> None:
    bad = await ended_call(sessions, "1700000006.1", "../../etc/passwd", ended_s_ago=120)
    name = "20261201/1700000006.2.wav"
    put(root, name)
    good = await ended_call(sessions, "1700000006.2", name)
    job = checker(sessions, root)
    await job.check_once(await system_actor(sessions, SYSTEM_USER))
    refused = await recording(sessions, bad)
    assert refused.status is RecordingStatus.MISSING and "unsafe name" in refused.problem
    assert (await recording(sessions, good)).status is RecordingStatus.ATTACHED


async def test_an_altered_file_is_found_at_re_verification(
    sessions: SessionFactory, root: Path
) -> None:
    name = "20261201/1700000007.3.wav"
    original = put(root, name)
    recording_id = await ended_call(sessions, "1700000007.3", name)
    system = await system_actor(sessions, SYSTEM_USER)
    await checker(sessions, root).check_once(system)
    attached = await recording(sessions, recording_id)

    job = checker(sessions, root, reverify_after_s=0)
    await job.check_once(system)  # unchanged: verified again, still attached
    verified = await recording(sessions, recording_id)
    assert verified.status is RecordingStatus.ATTACHED
    assert attached.verified_at is not None and verified.verified_at is not None
    assert verified.verified_at > attached.verified_at
    assert job.alarms() == {}

    (root / name).write_bytes(altered_copy((root / name).read_bytes()))
    await job.check_once(system)
    altered = await recording(sessions, recording_id)
    assert altered.status is RecordingStatus.ALTERED
    assert altered.sha256 == altered.source_sha256 == original  # what was stored stays
    assert original[:16] in altered.problem
    assert hashlib.sha256((root / name).read_bytes()).hexdigest()[:16] in altered.problem
    assert job.alarms() == {"recordings_altered": "1 recording(s) altered on disk"}


@pytest.mark.parametrize("first", ["checker", "order"])
async def test_concurrent_check_and_order_save_attach_exactly_once(
    sessions: SessionFactory, root: Path, first: str
) -> None:
    """Whichever transaction takes the call's recording rows first, the other one sees its
    write once it commits: one entry, never none, never two."""
    name = "20261201/1700000008.4.wav"
    digest = put(root, name)
    recording_id = await ended_call(sessions, "1700000008.4", name)
    taker, system = await agent(sessions), await system_actor(sessions, SYSTEM_USER)
    async with sessions() as session:
        (row,) = await uc.pending_recordings(session, 10)
    checked = uc.CheckedFile(FINISHED.stat().st_size, 2.5, digest)

    held, other_began = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        """In the first transaction only: its rows locked and written, it stays uncommitted
        until the other one has begun."""
        if not held.is_set():
            held.set()
            await other_began.wait()

    async def check() -> None:
        async with sessions() as session, session.begin():
            await uc.mark_attached(session, row, checked, system, utc_now())
            await hold()

    async def save() -> None:
        async with sessions() as session, session.begin():
            await register_order(
                session, NewOrder(Channel.PHONE, "噪音扰民", OrderType.COMPLAINT,
                                  calls=(CallRef("1700000008.4"),)),
                taker, centre_code="LY", now=utc_now(), calendar=CALENDAR,
            )  # fmt: skip
            await hold()

    async def second() -> None:
        await held.wait()
        other_began.set()  # the first commits once this one is on its way to the rows
        await other()

    one, other = (check, save) if first == "checker" else (save, check)
    await asyncio.gather(one(), second())

    async with sessions() as session:
        (order_id,) = await session.scalars(
            select(OrderCall.order_id).where(OrderCall.linkedid == "1700000008.4")
        )
    assert [e.detail["recording_id"] for e in await entries(sessions, order_id)] == [recording_id]
    assert await order_recording(sessions, order_id) == name
