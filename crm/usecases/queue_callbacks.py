"""Callback requests keeping the caller's place: stored, placed, their attempts' results.

The backend task (`hotline_cli/queue_callbacks.py`) calls these; the rules of what an
attempt's result makes of a request are `crm.domain.queue_callback`'s. The caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.callback_models import QueueCallbackRow
from crm.domain.queue_callback import OPEN, CallbackState, after_attempt, counts

# A retry, or a request Asterisk lost, is placed first in its queue (`front`: with the
# requeued callers' priority).
FRONT = 1


async def store_request(
    session: AsyncSession, linkedid: str, queue: str, number: str, position: int,
    queued_at: int, now: datetime,
) -> int:  # fmt: skip
    """The request of the call `linkedid` (one per call: asked again, the same one), to be
    placed at once at `position`, in the order of its first join `queued_at` (epoch s)."""
    known = await session.scalar(
        select(QueueCallbackRow.id).where(QueueCallbackRow.linkedid == linkedid)
    )
    if known is not None:
        return known
    row = QueueCallbackRow(
        linkedid=linkedid, queue=queue, number=number, position=max(1, position),
        queued_at=queued_at, front=False, requested_at=now, attempts=0, state=CallbackState.WAITING,
        next_at=now, last_result="", placeholder="", updated_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row.id


async def due_requests(session: AsyncSession, now: datetime) -> Sequence[QueueCallbackRow]:
    """Waiting requests whose placeholder is due, oldest first."""
    rows = await session.scalars(
        select(QueueCallbackRow)
        .where(QueueCallbackRow.state == CallbackState.WAITING, QueueCallbackRow.next_at <= now)
        .order_by(QueueCallbackRow.next_at, QueueCallbackRow.id)
    )
    return rows.all()


async def open_requests(session: AsyncSession) -> Sequence[QueueCallbackRow]:
    rows = await session.scalars(select(QueueCallbackRow).where(QueueCallbackRow.state.in_(OPEN)))
    return rows.all()


async def placed_before(session: AsyncSession, at: datetime) -> Sequence[QueueCallbackRow]:
    """Requests placed (or found again) before `at`."""
    rows = await session.scalars(
        select(QueueCallbackRow).where(
            QueueCallbackRow.state == CallbackState.PLACED, QueueCallbackRow.updated_at < at
        )
    )
    return rows.all()


async def mark_placed(
    session: AsyncSession, request_id: int, placeholder: str, now: datetime
) -> None:
    row = await session.get(QueueCallbackRow, request_id)
    if row is not None:
        row.state, row.placeholder, row.next_at, row.updated_at = (
            CallbackState.PLACED,
            placeholder,
            None,
            now,
        )


async def record_attempt(
    session: AsyncSession, request_id: int, placeholder: str, result: str, now: datetime,
    max_attempts: int, retry_after_s: int,
) -> CallbackState | None:  # fmt: skip
    """The attempt of the placeholder `placeholder` ended with `result`: reached, another
    attempt (at the front of the queue) or failed. None if the request is not at that
    placeholder (a report of an older attempt, or none)."""
    row = await session.get(QueueCallbackRow, request_id)
    if row is None or row.state is not CallbackState.PLACED or row.placeholder != placeholder:
        return None
    row.attempts += int(counts(result))
    outcome = after_attempt(result, row.attempts, max_attempts, now, retry_after_s)
    row.state, row.next_at, row.last_result, row.updated_at = (
        outcome.state,
        outcome.next_at,
        result[:32],
        now,
    )
    if outcome.state is CallbackState.WAITING:
        row.position, row.front = FRONT, True
    return outcome.state


async def place_again(
    session: AsyncSession, request_id: int, now: datetime, at: datetime | None = None
) -> None:
    """A placed request whose placeholder Asterisk no longer holds (it restarted): placed
    again at `at` (at once by default), at the front, the attempt not counted."""
    row = await session.get(QueueCallbackRow, request_id)
    if row is not None and row.state is CallbackState.PLACED:
        row.state, row.position, row.front = CallbackState.WAITING, FRONT, True
        row.next_at, row.updated_at = at or now, now


async def unplace(session: AsyncSession, request_id: int, placeholder: str, now: datetime) -> None:
    """The Originate of `placeholder` failed: the request waits again (its place unchanged),
    tried at once; the placeholder's id is kept so the next try asks whether it is alive."""
    row = await session.get(QueueCallbackRow, request_id)
    if row is not None and row.state is CallbackState.PLACED and row.placeholder == placeholder:
        row.state, row.next_at, row.updated_at = CallbackState.WAITING, now, now
