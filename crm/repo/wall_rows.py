"""The call records and `answered` events the live wall counts (only the columns it needs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallEvent, CallRecord
from crm.domain.calls import CallEventKind, CallOutcome
from crm.domain.wall_figures import AnsweredRow, CallRow

# A call decided in the window started at most this long before it (the bound keeps the
# query on the started_at index); calls still in progress are read whatever their age.
LONGEST_CALL = timedelta(hours=12)


async def calls_since(
    session: AsyncSession, since: datetime, changed_since: datetime | None = None
) -> Sequence[CallRow]:
    """Calls that may have been decided since `since` (naive UTC), and every call still in
    progress; with `changed_since`, only the records written since then."""
    r = CallRecord
    query = select(
        r.linkedid, r.queue, r.outcome, r.queued_at, r.answered_at, r.ended_at,
        r.emergency_started_at,
    ).where(or_(r.started_at >= since - LONGEST_CALL, r.outcome == CallOutcome.IN_PROGRESS))
    if changed_since is not None:
        query = query.where(r.updated_at >= changed_since)
    result = await session.execute(query)  # fmt: skip
    return [CallRow(*row) for row in result.all()]


async def answers_since(session: AsyncSession, since: datetime) -> Sequence[AnsweredRow]:
    e = CallEvent
    result = await session.execute(
        select(e.linkedid, e.agent, e.at).where(
            e.kind == CallEventKind.ANSWERED, e.at >= since, e.agent != ""
        )
    )
    return [AnsweredRow(*row) for row in result.all()]
