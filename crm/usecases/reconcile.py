"""Reconciliation's queries and repairs on the call log (each in the caller's transaction).

What is looked for: answered calls that ended without a work order or a disposition, answered
calls without a recording row, the recordings' rows with the orders of their calls, and our
records of the calls Asterisk's own record knows. The repairs only add or correct rows
(a PENDING row for a file found, a status, an end or answer time Asterisk saw); none
deletes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord, Recording
from crm.db.models import OrderCall, WorkOrder
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.usecases.call_records import LOST_REASON

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


async def kept_recordings(session: AsyncSession, after_id: int, limit: int,
                          created_since: datetime | None = None) -> list[Recording]:  # fmt: skip
    """A page by id after `after_id` of the recording rows whose file should be on disk (all
    but REMOVED), only those created since `created_since` if given."""
    query = select(Recording).where(
        Recording.status != RecordingStatus.REMOVED, Recording.id > after_id
    )
    if created_since is not None:
        query = query.where(Recording.created_at >= created_since)
    return list(await session.scalars(query.order_by(Recording.id).limit(limit)))


async def known_paths(session: AsyncSession, paths: Iterable[str]) -> set[str]:
    """Which of `paths` a row names, REMOVED ones too (a file of theirs is no orphan)."""
    wanted, found = list(set(paths)), set()
    for start in range(0, len(wanted), 500):  # bounded IN lists on both databases
        chunk = wanted[start : start + 500]
        found |= set(await session.scalars(select(Recording.path).where(Recording.path.in_(chunk))))
    return found


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
                               expect_path: str, expect_status: RecordingStatus,
                               status: RecordingStatus, problem: str,
                               now: datetime) -> bool:  # fmt: skip
    """Set a row's status only if it still names `expect_path` with `expect_status` (the
    compressor may have moved it on since it was read); True if written."""
    values: dict[str, object] = {"status": status, "problem": problem[:200]}
    if status is not RecordingStatus.PENDING:
        values["verified_at"] = now
    result = await session.execute(
        update(Recording)
        .where(
            Recording.id == recording_id,
            Recording.path == expect_path,
            Recording.status == expect_status,
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def end_from_witness(
    session: AsyncSession,
    linkedid: str,
    ended_at: datetime,
    outcome_if_open: CallOutcome,
    reason: str,
    now: datetime,
) -> bool:
    """Fill the end of a call our records left open with the end Asterisk recorded (it ended
    while the backend was down), or replace the guessed end (the restart's time, LOST_REASON)
    that the re-sync gave it; never overwrite an end we saw. True if written."""
    call = await session.get(CallRecord, linkedid)
    if call is None or not ends_unseen(call):
        return False
    guessed = call.ended_at is not None
    call.ended_at = ended_at
    if call.answered_at is not None and (guessed or call.talk_s is None):
        call.talk_s = max(0.0, (ended_at - call.answered_at).total_seconds())
    if call.answered_at is None and call.queued_at is not None:
        call.wait_s = max(0.0, (ended_at - call.queued_at).total_seconds())
    if call.outcome is CallOutcome.IN_PROGRESS:
        call.outcome = outcome_if_open
    call.end_reason = reason if guessed else call.end_reason or reason
    call.updated_at = now
    return True


def ends_unseen(call: CallRecord) -> bool:
    """Whether the call's end is not one we saw: still open, or guessed at a re-sync."""
    return call.ended_at is None or call.end_reason == LOST_REASON


async def answered_from_witness(session: AsyncSession, linkedid: str, answered_at: datetime,
                                now: datetime) -> bool:  # fmt: skip
    """Asterisk saw an agent answer a call we have as unanswered (it was answered while the
    backend was down): answered at `answered_at`, outcome ANSWERED, talk and wait anew."""
    call = await session.get(CallRecord, linkedid)
    if call is None or call.answered_at is not None:
        return False
    call.answered_at, call.outcome = answered_at, CallOutcome.ANSWERED
    if call.ended_at is not None:
        call.talk_s = max(0.0, (call.ended_at - answered_at).total_seconds())
    if call.queued_at is not None:
        call.wait_s = max(0.0, (answered_at - call.queued_at).total_seconds())
    call.updated_at = now
    return True
