"""The floor's trail as the desk writes it: a thin adapter around `crm.usecases.floor_actions`,
each step in a short session of its own (the call process keeps no session open)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.usecases import floor_actions
from crm.usecases.floor_actions import FloorEntry


class FloorAudit:
    def __init__(self, sessions: SessionFactory, clock: Callable[[], datetime] = utc_now) -> None:
        self.sessions = sessions
        self.clock = clock

    async def begin(self, entry: FloorEntry) -> int:
        """The action on the trail (pending), before Asterisk is asked to carry it out."""
        async with self.sessions() as session, session.begin():
            return await floor_actions.begin(session, entry, self.clock())

    async def finish(self, action_id: int, outcome: str) -> None:
        async with self.sessions() as session, session.begin():
            await floor_actions.finish(session, action_id, outcome, self.clock())
