"""The 10-minute clock as a job of the call process: every `[emergency].clock_interval_s`
(beside the overdue sweep), warnings, escalations and results overdue are raised; `after`
is then called (the wiring root wakes the alert publisher) when a round raised any."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.domain.emergency import EmergencyRules
from crm.domain.lifecycle import Actor
from crm.jobs.overdue_sweep import system_actor
from crm.jobs.periodic import PeriodicJob
from crm.usecases.emergency_clock import run_clock

log = logging.getLogger(__name__)

CLOCK_USER = "系统时限"  # signs the clock's alerts in the orders' trails


class EmergencyClock(PeriodicJob):
    name = "emergency clock"

    def __init__(
        self,
        sessions: SessionFactory,
        rules: EmergencyRules,
        interval_s: float,
        *,
        after: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(interval_s)
        self.sessions = sessions
        self.rules = rules
        self.after = after
        self.clock = clock
        self.actor: Actor | None = None

    async def start(self) -> None:
        self.actor = await system_actor(self.sessions, CLOCK_USER)

    async def run_once(self) -> None:
        assert self.actor is not None, "entered: start() found the system user"
        now = self.clock()
        async with self.sessions() as session, session.begin():
            raised = await run_clock(session, self.actor, now, self.rules)
        for item in raised:
            log.warning(
                "emergency clock: %s raised for order %s", item.kind.value, item.order_number
            )
        if raised:
            self.after()
