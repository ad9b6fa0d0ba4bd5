"""Reconciliation's queries and repairs on the call log (each in the caller's transaction).

What is looked for: answered calls that ended without a work order or a disposition, answered
calls without a recording row, the recordings' rows with the orders of their calls, and our
records of the calls Asterisk's own record knows. The repairs only add or correct rows
(a PENDING row for a file found, a status, an end time Asterisk saw); none deletes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord, Recording
from crm.db.models import OrderCall, WorkOrder
from crm.domain.calls import CallOutcome, RecordingStatus

_answered_and_over = (CallRecord.answered_at.is_not(None), CallRecord.ended_at.is_not(None))


async def answered_without_outcome(session: AsyncSession, ended_before: datetime,
                                   limit: int = 1000) -> list[CallRecord]:  # fmt: skip
    """Answered calls ended before `ended_before` with neither an order nor a disposition."""
    rows = await session.scalars(
        select(CallRecord)
        .where(
            *_answered_and_over,
            CallRecord.ended_at <= ended_before,
            CallRecord.disposition.is_(None),
            ~exists().where(OrderCall.linkedid == CallRecord.linkedid),
        )
        .order_by(CallRecord.started_at)
        .limit(limit)
    )
    return list(rows)


async def answered_without_recording(session: AsyncSession, ended_before: datetime,
                                     limit: int = 1000) -> list[CallRecord]:  # fmt: skip
    """Answered calls ended before `ended_before` that have no recording row at all."""
    rows = await session.scalars(
        select(CallRecord)
        .where(
            *_answered_and_over,
            CallRecord.ended_at <= ended_before,
            ~exists().where(Recording.linkedid == CallRecord.linkedid),
        )
        .order_by(CallRecord.started_at)
        .limit(limit)
    )
    return list(rows)


async def kept_recordings(session: AsyncSession) -> list[Recording]:
    """Every recording row whose file should be on disk (all but REMOVED)."""
    rows = await session.scalars(
        select(Recording).where(Recording.status != RecordingStatus.REMOVED).order_by(Recording.id)
    )
    return list(rows)


async def all_recording_paths(session: AsyncSession) -> set[str]:
    """The paths of every row, REMOVED ones too (a file of theirs is no orphan)."""
    return set(await session.scalars(select(Recording.path)))


async def order_numbers(session: AsyncSession, linkedids: Iterable[str]) -> dict[str, list[str]]:
    """The numbers of each call's orders."""
    ids = set(linkedids)
    if not ids:
        return {}
    found: dict[str, list[str]] = {}
    rows = await session.execute(
        select(OrderCall.linkedid, WorkOrder.number)
        .join(WorkOrder, WorkOrder.id == OrderCall.order_id)
        .where(OrderCall.linkedid.in_(ids))
        .order_by(WorkOrder.number)
    )
    for linkedid, number in rows.all():
        found.setdefault(linkedid, []).append(number)
    return found


async def calls_by_linkedid(session: AsyncSession, ids: Iterable[str]) -> dict[str, CallRecord]:
    wanted = list(set(ids))
    found: dict[str, CallRecord] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists on both databases
        chunk = wanted[start : start + 500]
        for call in await session.scalars(select(CallRecord).where(CallRecord.linkedid.in_(chunk))):
            found[call.linkedid] = call
    return found


async def add_pending_recording(session: AsyncSession, linkedid: str, path: str,
                                now: datetime) -> Recording:  # fmt: skip
    """A PENDING row (part 1) for a call's file found on disk, for the checker to check."""
    row = Recording(linkedid=linkedid, part=1, path=path, status=RecordingStatus.PENDING,
                    format=path.rsplit(".", 1)[-1], created_at=now)  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def set_recording_status(session: AsyncSession, recording_id: int,
                               status: RecordingStatus, problem: str,
                               now: datetime) -> None:  # fmt: skip
    row = await session.get(Recording, recording_id)
    if row is None:
        return
    row.status, row.problem = status, problem[:200]
    if status is not RecordingStatus.PENDING:
        row.verified_at = now


async def end_from_witness(
    session: AsyncSession,
    linkedid: str,
    ended_at: datetime,
    outcome_if_open: CallOutcome,
    reason: str,
    now: datetime,
) -> bool:
    """Fill the end of a call our records left open with the end Asterisk recorded (it ended
    while the backend was down); never overwrite an end we have. True if written."""
    call = await session.get(CallRecord, linkedid)
    if call is None or call.ended_at is not None:
        return False
    call.ended_at = ended_at
    if call.answered_at is not None and call.talk_s is None:
        call.talk_s = max(0.0, (ended_at - call.answered_at).total_seconds())
    if call.outcome is CallOutcome.IN_PROGRESS:
        call.outcome = outcome_if_open
    call.end_reason = call.end_reason or reason
    call.updated_at = now
    return True
