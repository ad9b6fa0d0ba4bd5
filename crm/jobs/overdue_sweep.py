"""The periodic overdue-notice sweep (督办): overdue orders get their notice without anyone asking.

Notices are audited like any change, so the sweep acts as a user of its own: a supervisor
named `SYSTEM_USER`, created once, with no usable token.
"""

from __future__ import annotations

import logging

from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.jobs.periodic import PeriodicJob
from crm.repo.calendar import load_calendar
from crm.repo.directory import system_user
from crm.usecases.overdue_notices import issue_overdue_notices

log = logging.getLogger(__name__)

SYSTEM_USER = "系统督办"


async def system_actor(sessions: SessionFactory, name: str = SYSTEM_USER) -> Actor:
    """The system user `name` (a supervisor nobody logs in as) that a job's audit entries
    are signed by; created on first use."""
    async with sessions() as session, session.begin():
        user = await system_user(session, name)
        return Actor(user_id=user.id, role=Role.SUPERVISOR, unit_id=None)


async def sweep_once(sessions: SessionFactory, actor: Actor) -> list[str]:
    """Issue the notices due now; the numbers of the orders noticed."""
    async with sessions() as session, session.begin():
        calendar = await load_calendar(session)
        noticed = await issue_overdue_notices(session, actor, now=utc_now(), calendar=calendar)
        return [order.number for order in noticed]


class OverdueSweep(PeriodicJob):
    """Sweeps once entered, then every `interval_s` until left (crm.jobs.periodic); the
    system user is found (or created) on entry."""

    name = "overdue sweep"

    def __init__(self, sessions: SessionFactory, interval_s: float) -> None:
        super().__init__(interval_s)
        self.sessions = sessions
        self.actor: Actor | None = None

    async def start(self) -> None:
        self.actor = await system_actor(self.sessions)

    async def run_once(self) -> None:
        assert self.actor is not None, "entered: start() found the system user"
        numbers = await sweep_once(self.sessions, self.actor)
        if numbers:
            log.info("overdue notices (督办) issued for %d orders", len(numbers))
