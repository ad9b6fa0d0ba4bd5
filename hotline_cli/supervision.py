"""The periodic supervision sweep (督办): overdue orders get their notice without anyone asking.

Notices are audited like any change, so the sweep acts as a user of its own: a supervisor
named `SYSTEM_USER`, created once, with no usable token.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from crm.db.engine import SessionFactory
from crm.db.models import User
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.repo.calendar import load_calendar
from crm.repo.directory import create_user
from crm.usecases.supervision import issue_overdue_notices
from hotline_cli.tasks import TaskHealth

log = logging.getLogger(__name__)

SYSTEM_USER = "系统督办"


async def system_actor(sessions: SessionFactory) -> Actor:
    async with sessions() as session, session.begin():
        user = await session.scalar(
            select(User).where(User.name == SYSTEM_USER, User.role == Role.SUPERVISOR)
        )
        if user is None:
            user, _token = await create_user(session, SYSTEM_USER, Role.SUPERVISOR, None)
            user.active = False  # it signs notices; nobody logs in as it
        return Actor(user_id=user.id, role=Role.SUPERVISOR, unit_id=None)


async def sweep_once(sessions: SessionFactory, actor: Actor) -> list[str]:
    """Issue the notices due now; the numbers of the orders noticed."""
    async with sessions() as session, session.begin():
        calendar = await load_calendar(session)
        noticed = await issue_overdue_notices(session, actor, now=utc_now(), calendar=calendar)
        return [order.number for order in noticed]


async def sweep_forever(sessions: SessionFactory, interval_s: float, health: TaskHealth) -> None:
    """Sweep every `interval_s`; a failed sweep is counted in `health` and tried again at the
    next interval (a failure outside a sweep ends the task, and its supervisor restarts it)."""
    actor = await system_actor(sessions)
    while True:
        try:
            numbers = await sweep_once(sessions, actor)
            if numbers:
                log.info("supervision notices issued for %d overdue orders", len(numbers))
        except Exception:
            health.failures += 1
            log.exception("supervision sweep failed; next try in %.0f s", interval_s)
        await asyncio.sleep(interval_s)
