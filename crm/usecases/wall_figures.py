"""The live wall's figures of the day so far, read from the call records (restart-safe)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm.domain.wall_figures import LAST_HOUR, DayFigures, ServiceRule, day_figures, day_start
from crm.repo.wall_rows import answers_since, calls_since


async def wall_figures(session: AsyncSession, now: datetime, rule: ServiceRule) -> DayFigures:
    """Today's (the centre's local day) and the last hour's figures at `now` (naive UTC)."""
    since = min(day_start(now), now - LAST_HOUR)
    rows = await calls_since(session, since)
    answers = await answers_since(session, since)
    return day_figures(rows, answers, now, rule)
