"""The live wall's figures of the day so far, read from the call records (restart-safe).

The wall is counted every few seconds, and a busy day has tens of thousands of calls: the
counter keeps the window's rows between rounds and reads only the records written since the
last round (`updated_at`, with an overlap for transactions committed late) and the answers
since then; every `full_every` it reads the whole window again, which also picks up an
`answered` event written late (the call log catching up after the database was away).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crm.domain.calls import CallOutcome
from crm.domain.wall_figures import (
    LAST_HOUR,
    AnsweredRow,
    CallRow,
    DayFigures,
    ServiceRule,
    day_figures,
    day_start,
    decided_at,
)
from crm.repo.wall_rows import answers_since, calls_since

OVERLAP = timedelta(seconds=30)


class WallCounter:
    def __init__(self, rule: ServiceRule, full_every: timedelta = timedelta(minutes=1)) -> None:
        self.rule = rule
        self.full_every = full_every
        self.rows: dict[str, CallRow] = {}
        self.answers: set[AnsweredRow] = set()
        self._read_at: datetime | None = None
        self._full_at: datetime | None = None

    async def figures(self, session: AsyncSession, now: datetime) -> DayFigures:
        """Today's (the centre's local day) and the last hour's figures at `now` (naive UTC)."""
        since = min(day_start(now), now - LAST_HOUR)
        full = self._full_at is None or now - self._full_at >= self.full_every
        changed = None if full or self._read_at is None else self._read_at - OVERLAP
        rows = await calls_since(session, since, changed)
        answers = await answers_since(session, since if changed is None else max(since, changed))
        if full:
            self.rows, self.answers, self._full_at = {}, set(), now
        self.rows.update((r.linkedid, r) for r in rows)
        self.answers.update(answers)
        self._read_at = now
        self._forget_before(since)
        return day_figures(self.rows.values(), self.answers, now, self.rule)

    def _forget_before(self, since: datetime) -> None:
        def old(row: CallRow) -> bool:
            if row.outcome is CallOutcome.IN_PROGRESS:
                return False
            at = row.ended_at or decided_at(row)
            return at is None or at < since

        self.rows = {k: r for k, r in self.rows.items() if not old(r)}
        self.answers = {a for a in self.answers if a.at >= since}
