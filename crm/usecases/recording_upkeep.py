"""The recordings' upkeep as the CRM sees it: which are due for compression or retention, and
the row changes that record either (each in the caller's transaction).

The files themselves are the `recordings` package's business; this module only reads and
writes rows, so the order "file written and verified → row committed → original removed"
stays in one place there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord, Recording
from crm.db.models import OrderCall, WorkOrder
from crm.db.prepared import DriverConnection
from crm.domain.calls import RecordingStatus
from crm.domain.enums import OPEN_STATUSES
from crm.domain.lifecycle import Actor
from crm.repo import audit

COMPRESSED_ACTION = "recording_compressed"


async def compression_due(session: AsyncSession, checked_before: datetime, limit: int,
                          after_id: int = 0) -> list[Recording]:  # fmt: skip
    """Attached WAV recordings checked before `checked_before`, a page by id after
    `after_id` (pages, so that rows that keep failing never hide the others)."""
    rows = await session.scalars(
        select(Recording)
        .where(
            Recording.status == RecordingStatus.ATTACHED,
            Recording.format == "wav",
            Recording.checked_at <= checked_before,
            Recording.id > after_id,
        )
        .order_by(Recording.id)
        .limit(limit)
    )
    return list(rows)


async def record_compressed(
    session: AsyncSession,
    recording_id: int,
    wav_path: str,
    ogg_path: str,
    size_bytes: int,
    sha256: str,
    now: datetime,
    actor: Actor,
) -> bool:
    """Point the row, and every order that names the WAV, at its verified Ogg copy (each such
    order audited); False if the row changed meanwhile (no longer the attached WAV it was),
    in which case nothing is written and the WAV must stay."""
    row = await session.scalar(
        select(Recording).where(Recording.id == recording_id).with_for_update()
    )
    if row is None or row.path != wav_path or row.status is not RecordingStatus.ATTACHED:
        return False
    row.source_sha256 = row.source_sha256 or row.sha256  # the file as Asterisk finished it
    row.path, row.format = ogg_path, "ogg"
    row.size_bytes, row.sha256 = size_bytes, sha256
    row.compressed_at = now
    await _rename_in_orders(session, row.linkedid, wav_path, ogg_path, recording_id, actor, now)
    return True


async def _rename_in_orders(session: AsyncSession, linkedid: str, wav_path: str, ogg_path: str,
                            recording_id: int, actor: Actor, now: datetime) -> None:  # fmt: skip
    """The orders of the call whose `order_calls.recording` names the WAV name the Ogg now."""
    links = (
        await session.execute(
            select(OrderCall.id, WorkOrder.id, WorkOrder.status)
            .join(WorkOrder, WorkOrder.id == OrderCall.order_id)
            .where(OrderCall.linkedid == linkedid, OrderCall.recording == wav_path)
            .order_by(WorkOrder.id)
        )
    ).all()
    if not links:
        return
    await session.execute(
        update(OrderCall).where(OrderCall.id.in_([link for link, _, _ in links]))
        .values(recording=ogg_path)
    )  # fmt: skip
    driver = await DriverConnection.of(session)
    detail = {"recording_id": recording_id, "linkedid": linkedid, "from": wav_path,
              "path": ogg_path}  # fmt: skip
    for _, order_id, status in links:
        await audit.append(driver, order_id, actor, COMPRESSED_ACTION, status, status, now, detail)


async def recently_compressed(session: AsyncSession, since: datetime) -> list[Recording]:
    """Compressed rows since `since`: their WAV may survive a crash after the commit."""
    rows = await session.scalars(
        select(Recording).where(Recording.format == "ogg", Recording.compressed_at >= since)
    )
    return list(rows)


@dataclass(frozen=True)
class RetentionCandidate:
    recording: Recording
    call: CallRecord
    orders: tuple[WorkOrder, ...]


async def retention_candidates(session: AsyncSession, checked_before: datetime, limit: int,
                               after_id: int = 0) -> list[RetentionCandidate]:  # fmt: skip
    """Attached recordings checked before `checked_before` (a recording precedes its call's
    outcome, so no younger one can be past retention), with their call and its orders; a
    page by id after `after_id` (the many kept for open orders never hide the others)."""
    pairs = (
        await session.execute(
            select(Recording, CallRecord)
            .join(CallRecord, CallRecord.linkedid == Recording.linkedid)
            .where(
                Recording.status == RecordingStatus.ATTACHED,
                Recording.checked_at <= checked_before,
                Recording.id > after_id,
            )
            .order_by(Recording.id)
            .limit(limit)
        )
    ).all()
    linkedids = {call.linkedid for _, call in pairs}
    orders: dict[str, list[WorkOrder]] = {}
    if linkedids:
        found = await session.execute(
            select(OrderCall.linkedid, WorkOrder)
            .join(WorkOrder, WorkOrder.id == OrderCall.order_id)
            .where(OrderCall.linkedid.in_(linkedids))
        )
        for linkedid, order in found.all():
            orders.setdefault(linkedid, []).append(order)
    return [
        RetentionCandidate(rec, call, tuple(orders.get(call.linkedid, ()))) for rec, call in pairs
    ]


async def record_removed(session: AsyncSession, recording_id: int, path: str,
                         now: datetime) -> bool:  # fmt: skip
    """Mark the recording REMOVED (before its file goes); False if it changed meanwhile, or
    if an order of its call is open now (reopened since the decision was taken)."""
    open_order = (
        select(OrderCall.id)
        .join(WorkOrder, WorkOrder.id == OrderCall.order_id)
        .where(OrderCall.linkedid == Recording.linkedid, WorkOrder.status.in_(OPEN_STATUSES))
        .correlate(Recording)
        .exists()
    )
    result = await session.execute(
        update(Recording)
        .where(
            Recording.id == recording_id,
            Recording.path == path,
            Recording.status == RecordingStatus.ATTACHED,
            ~open_order,
        )
        .values(status=RecordingStatus.REMOVED, removed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def recently_removed(session: AsyncSession, since: datetime) -> list[Recording]:
    """Rows removed since `since`: their file may survive a crash after the commit."""
    rows = await session.scalars(
        select(Recording).where(
            Recording.status == RecordingStatus.REMOVED, Recording.removed_at >= since
        )
    )
    return list(rows)
