"""The call records and `answered` events the live wall counts (only the columns it needs)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallEvent, CallRecord
from crm.domain.calls import CallEventKind, CallOutcome
from crm.domain.queue_callback import PLACEHOLDER_LABEL
from crm.domain.revisit import CALL_LABELS
from crm.domain.wall_figures import AnsweredRow, CallRow

# A call decided in the window started at most this long before it (the bound keeps the
# query on the started_at index); calls still in progress are read whatever their age.
LONGEST_CALL = timedelta(hours=12)
# The calls placed from an order (回访, the units' contact and reply calls) and the callback's
# placeholders are no calls in: the wall's figures leave them out.
_CALLED_IN = CallRecord.ivr_label.not_in((*CALL_LABELS, PLACEHOLDER_LABEL))


_COLUMNS = (
    CallRecord.linkedid, CallRecord.queue, CallRecord.outcome, CallRecord.queued_at,
    CallRecord.answered_at, CallRecord.ended_at, CallRecord.emergency_started_at,
    CallRecord.end_reason, CallRecord.survey, CallRecord.talk_s,
)  # fmt: skip


async def calls_since(session: AsyncSession, since: datetime) -> list[CallRow]:
    """Calls that may have been decided since `since` (naive UTC), and every call still in
    progress (two queries, each on its index)."""
    r = CallRecord
    recent = await session.execute(
        select(*_COLUMNS).where(_CALLED_IN, r.started_at >= since - LONGEST_CALL)
    )
    up = await session.execute(
        select(*_COLUMNS).where(
            _CALLED_IN, r.outcome == CallOutcome.IN_PROGRESS, r.started_at < since - LONGEST_CALL
        )
    )
    return [CallRow(**row._asdict()) for row in (*recent.all(), *up.all())]


async def calls_written_since(session: AsyncSession, at: datetime) -> list[CallRow]:
    """The records written (`updated_at`) since `at` (naive UTC)."""
    result = await session.execute(select(*_COLUMNS).where(_CALLED_IN, CallRecord.updated_at >= at))
    return [CallRow(**row._asdict()) for row in result.all()]


async def answers_since(
    session: AsyncSession, since: datetime, after_id: int = 0
) -> tuple[list[AnsweredRow], int]:
    """The `answered` events at or after `since` with an id above `after_id`, and the
    highest id read (`after_id` if none)."""
    e = CallEvent
    result = await session.execute(
        select(e.id, e.linkedid, e.agent, e.at).where(
            e.kind == CallEventKind.ANSWERED, e.at >= since, e.agent != "", e.id > after_id
        )
    )
    rows = result.all()
    return [AnsweredRow(*row[1:]) for row in rows], max((row[0] for row in rows), default=after_id)
