"""Queries over call recordings for their checks: what waits to be checked or verified, and
the orders a call's recording belongs to (in the caller's transaction)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from crm.db.call_models import CallRecord, Recording
from crm.db.models import AuditEntry, OrderCall, WorkOrder
from crm.domain.calls import RecordingStatus
from crm.domain.enums import Status

Db = AsyncSession | AsyncConnection


@dataclass(frozen=True)
class RecordingRow:
    id: int
    linkedid: str
    path: str
    status: RecordingStatus
    sha256: str
    ended_at: datetime | None  # of its call


@dataclass(frozen=True)
class LinkedOrder:
    order_id: int
    order_call_id: int
    status: Status
    recording: str  # order_calls.recording as it is now


_ROW = (
    Recording.id, Recording.linkedid, Recording.path, Recording.status, Recording.sha256,
    CallRecord.ended_at,
)  # fmt: skip


async def pending_of_ended_calls(db: Db, limit: int, after_id: int = 0) -> list[RecordingRow]:
    """PENDING recordings whose call has ended, a page by id after `after_id`."""
    rows = await db.execute(
        select(*_ROW)
        .join(CallRecord, CallRecord.linkedid == Recording.linkedid)
        .where(Recording.status == RecordingStatus.PENDING, CallRecord.ended_at.is_not(None))
        .where(Recording.id > after_id)
        .order_by(Recording.id)
        .limit(limit)
    )
    return [RecordingRow(*row) for row in rows]


async def due_for_verification(db: Db, verified_before: datetime, limit: int) -> list[RecordingRow]:
    """ATTACHED recordings last verified before the given time, the longest unverified first."""
    last = func.coalesce(Recording.verified_at, Recording.checked_at)
    rows = await db.execute(
        select(*_ROW)
        .join(CallRecord, CallRecord.linkedid == Recording.linkedid)
        .where(Recording.status == RecordingStatus.ATTACHED, last < verified_before)
        .order_by(last, Recording.id)
        .limit(limit)
    )
    return [RecordingRow(*row) for row in rows]


@dataclass(frozen=True)
class LockedRecording:
    id: int
    path: str
    status: RecordingStatus
    sha256: str
    duration_s: float | None
    problem: str  # e.g. what was repaired before it was attached


async def lock_recordings_of_call(db: Db, linkedid: str) -> list[LockedRecording]:
    """The call's recordings, rows locked until the transaction ends (PostgreSQL; SQLite has
    one writer at a time anyway): a recording being attached and an order being saved for
    the same call see each other's writes, whichever commits first."""
    query = (
        select(Recording.id, Recording.path, Recording.status, Recording.sha256,
               Recording.duration_s, Recording.problem)
        .where(Recording.linkedid == linkedid)
        .order_by(Recording.part)
        .with_for_update()
    )  # fmt: skip
    return [LockedRecording(*row) for row in await db.execute(query)]


async def set_fields(
    db: Db,
    recording_id: int,
    expect: RecordingStatus,
    values: dict[str, object],
    *,
    expect_path: str | None = None,
    expect_sha256: str | None = None,
) -> bool:
    """Update a recording only if it is still as the caller last saw it (status, and path and
    checksum if given: the compression job may have replaced the file meanwhile); whether
    it was."""
    query = update(Recording).where(Recording.id == recording_id, Recording.status == expect)
    if expect_path is not None:
        query = query.where(Recording.path == expect_path)
    if expect_sha256 is not None:
        query = query.where(Recording.sha256 == expect_sha256)
    result = await db.execute(query.values(**values))
    return bool(getattr(result, "rowcount", 0))


async def orders_of_call(db: Db, linkedid: str, order_id: int | None = None) -> list[LinkedOrder]:
    """The orders a call is linked to (or only `order_id`'s link), with their status."""
    query = (
        select(WorkOrder.id, OrderCall.id, WorkOrder.status, OrderCall.recording)
        .join(OrderCall, OrderCall.order_id == WorkOrder.id)
        .where(OrderCall.linkedid == linkedid)
        .order_by(WorkOrder.id)
    )
    if order_id is not None:
        query = query.where(WorkOrder.id == order_id)
    return [LinkedOrder(*row) for row in await db.execute(query)]


async def attached_recording_ids(db: Db, order_id: int, action: str) -> set[int]:
    """The recordings already attached to an order, as its audit trail says."""
    details = await db.execute(
        select(AuditEntry.detail).where(
            AuditEntry.order_id == order_id, AuditEntry.action == action
        )
    )
    return {int(d["recording_id"]) for (d,) in details if "recording_id" in d}


async def fill_order_call_recording(db: Db, order_call_id: int, path: str) -> None:
    await db.execute(
        update(OrderCall)
        .where(OrderCall.id == order_call_id, OrderCall.recording == "")
        .values(recording=path)
    )


async def count_with_status(db: Db, status: RecordingStatus) -> int:
    count = await db.scalar(
        select(func.count()).select_from(Recording).where(Recording.status == status)
    )
    return int(count or 0)
