"""The live wall's figures of the day so far, read from the call records (restart-safe).

The wall is counted every few seconds and a busy day has tens of thousands of calls, so the
first round reads the whole window and each later one only what was written since: the
records by `updated_at` (with an overlap for a transaction committed late) and the `answered`
events by id (with an overlap of ids, for the same reason; an event written late, the call log
catching up after the database was away, still has a new id). `DayCounter` keeps the figures.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crm.domain.wall_figures import LAST_HOUR, DayCounter, DayFigures, ServiceRule, day_start
from crm.repo.wall_rows import answers_since, calls_since, calls_written_since

OVERLAP = timedelta(seconds=30)
OVERLAP_IDS = 1000


class WallCounter:
    def __init__(self, rule: ServiceRule) -> None:
        self.counter = DayCounter(rule)
        self._read_at: datetime | None = None
        self._last_id = 0

    async def figures(self, session: AsyncSession, now: datetime) -> DayFigures:
        """Today's (the centre's local day) and the last hour's figures at `now` (naive UTC)."""
        since = min(day_start(now), now - LAST_HOUR)
        if self._read_at is None:
            rows = await calls_since(session, since)
        else:
            rows = await calls_written_since(session, self._read_at - OVERLAP)
        answers, last_id = await answers_since(session, since, self._last_id - OVERLAP_IDS)
        self._read_at, self._last_id = now, max(self._last_id, last_id)
        self.counter.update(rows, answers)
        return self.counter.figures(now)
