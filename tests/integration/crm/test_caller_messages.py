"""A caller nobody answered, as a work order through the IVR's port (`CallerMessages`): the
message's file a PENDING recording of the call, which the checker attaches to the order once
the call has ended; a callback request an order without one; a hostile caller ID left out;
one order per call however often the IVR reports it."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.call_models import CallRecord, Recording
from crm.db.engine import session_factory
from crm.db.models import OrderCall, WorkOrder
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.domain.clock import utc_now
from crm.jobs.overdue_sweep import system_actor
from crm.usecases.caller_message import CALLBACK_TEXT, MESSAGE_TEXT
from hotline_cli.after_hours import CallerMessages
from ivr.nobody import Message
from recordings.checker import SYSTEM_USER, RecordingChecker
from recordings.store import RecordingStore

pytestmark = pytest.mark.asyncio(loop_scope="session")

FINISHED = Path(__file__).parents[2] / "fixtures" / "recordings" / "asterisk_mixmonitor.wav"


async def orders_of(engine: AsyncEngine, linkedid: str) -> list[tuple[WorkOrder, str]]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(WorkOrder, OrderCall.recording)
            .join(OrderCall, OrderCall.order_id == WorkOrder.id)
            .where(OrderCall.linkedid == linkedid)
        )
        return [(order, recording) for order, recording in rows.all()]


async def test_a_message_is_an_order_with_the_call_recording_attached_once_checked(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    name = "20260101/1700000000.5.wav"
    (tmp_path / name).parent.mkdir()
    shutil.copy(FINISHED, tmp_path / name)
    take = CallerMessages(sessions, "LY")
    message = Message("13800138000", "张三", "1700000000.5", name)
    assert await take(message)
    assert await take(message)  # reported again: the same order
    ((order, recording),) = await orders_of(engine, "1700000000.5")
    assert (order.caller_number, order.caller_name, order.text) == ("13800138000", "张三",
                                                                      MESSAGE_TEXT)  # fmt: skip
    assert recording == name
    async with sessions() as session, session.begin():
        (row,) = (await session.scalars(select(Recording))).all()
        assert row.status is RecordingStatus.PENDING and row.path == name
        record = await session.get(CallRecord, "1700000000.5")
        assert record is not None
        record.ended_at, record.outcome = utc_now(), CallOutcome.ABANDONED  # the call log's
    job = RecordingChecker(sessions, RecordingStore(tmp_path), interval_s=3600, min_free_mb=0)
    await job.check_once(await system_actor(sessions, SYSTEM_USER))
    async with sessions() as session:
        (row,) = (await session.scalars(select(Recording))).all()
    assert row.status is RecordingStatus.ATTACHED


async def test_a_callback_request_is_an_order_and_a_hostile_caller_id_is_left_out(
    engine: AsyncEngine,
) -> None:
    take = CallerMessages(session_factory(engine), "LY")
    assert await take(Message("13800138000'; DROP", "", "1700000000.6"))
    ((order, recording),) = await orders_of(engine, "1700000000.6")
    assert (order.caller_number, order.text, recording) == ("", CALLBACK_TEXT, "")
    async with session_factory(engine)() as session:
        assert (await session.scalars(select(Recording))).all() == []


async def test_a_callers_name_with_control_characters_still_leaves_the_callback(
    engine: AsyncEngine,
) -> None:
    """A phone may send ESC, BEL or DEL in its display name (SIP carries them, Asterisk passes
    them on): the order is registered, the name without them; refused, the callback was lost."""
    take = CallerMessages(session_factory(engine), "LY")
    assert await take(Message("13800138000", "市民\x1b[31m\x07张\x7f", "1700000000.7"))
    ((order, _recording),) = await orders_of(engine, "1700000000.7")
    assert (order.caller_name, order.caller_number) == ("市民[31m张", "13800138000")
