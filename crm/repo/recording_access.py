"""Queries behind serving recordings: the rows, whether a unit handles the call, the trail."""

from collections.abc import Sequence

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallEvent, CallRecord, Recording, RecordingAccess
from crm.db.models import OrderCall, OrderUnit, User, WorkOrder
from crm.domain.calls import CallEventKind

MAX_PARTS = 100  # a call's recordings listed at once (parts of one call: a handful)
MAX_ACCESSES = 1000  # newest entries of a recording's trail listed


async def get_recording(session: AsyncSession, recording_id: int) -> Recording | None:
    return await session.get(Recording, recording_id)


async def recordings_of_call(session: AsyncSession, linkedid: str) -> Sequence[Recording]:
    query = (
        select(Recording)
        .where(Recording.linkedid == linkedid)
        .order_by(Recording.part, Recording.id)
        .limit(MAX_PARTS)
    )
    return (await session.scalars(query)).all()


async def unit_handles_call(session: AsyncSession, unit_id: int, linkedid: str) -> bool:
    """True if the unit leads or assists an order linked to the call."""
    assisting = exists().where(OrderUnit.order_id == WorkOrder.id, OrderUnit.unit_id == unit_id)
    query = (
        select(OrderCall.id)
        .join(WorkOrder, WorkOrder.id == OrderCall.order_id)
        .where(OrderCall.linkedid == linkedid)
        .where(or_(WorkOrder.lead_unit_id == unit_id, assisting))
        .limit(1)
    )
    return await session.scalar(query) is not None


async def user_answered_call(session: AsyncSession, user_id: int, linkedid: str) -> bool:
    """True if the extension the user is bound to answered the call: the record's first
    agent, or an `answered` event naming it (a blind transfer's second agent too)."""
    extension = await session.scalar(select(User.agent_extension).where(User.id == user_id))
    if not extension:
        return False
    answered = exists().where(
        CallEvent.linkedid == linkedid, CallEvent.kind == CallEventKind.ANSWERED,
        CallEvent.agent == extension,
    )  # fmt: skip
    query = select(CallRecord.linkedid).where(
        CallRecord.linkedid == linkedid,
        or_(CallRecord.agent_extension == extension, answered),
    )
    return await session.scalar(query) is not None


async def recording_ids_of_call(session: AsyncSession, linkedid: str) -> Sequence[int]:
    query = (
        select(Recording.id).where(Recording.linkedid == linkedid)
        .order_by(Recording.part, Recording.id).limit(MAX_PARTS)
    )  # fmt: skip
    return (await session.scalars(query)).all()


async def accesses(session: AsyncSession, recording_id: int) -> Sequence[RecordingAccess]:
    query = (
        select(RecordingAccess)
        .where(RecordingAccess.recording_id == recording_id)
        .order_by(RecordingAccess.id.desc())
        .limit(MAX_ACCESSES)
    )
    return (await session.scalars(query)).all()
