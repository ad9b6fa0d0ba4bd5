"""The trunk monitor's changes as centre alerts: a leg that goes down (or comes back) becomes
a CRM alert without an order, which the alert publisher pushes to the supervisors' desks. The
call process sees the change (telephony) and the CRM stores it (crm imports no telephony), so
it lives in the wiring root. Whether one is worth raising is the CRM's (`centre_alerts`): a
leg found down again after a restart is not told twice. A down leg removed (or no longer
qualified) by a live apply gets the up notice marked `stopped`: its down is closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.domain.enums import AlertKind
from crm.domain.lifecycle import Actor
from crm.jobs.overdue_sweep import system_actor
from crm.usecases.alerts import raise_centre_alert
from telephony.trunk_health import LegChange

log = logging.getLogger(__name__)

TRUNK_USER = "中继监测"  # the system user the alerts' audit entries are signed by


class TrunkAlerts:
    """A `TrunkMonitor` change listener that never waits (it runs in the AMI consumer): the
    changes are stored in order by `run` (a supervised task); `wake` nudges the publisher."""

    def __init__(self, sessions: SessionFactory, wake: Callable[[], None]) -> None:
        self.sessions = sessions
        self.wake = wake
        self.actor: Actor | None = None
        self.changes: asyncio.Queue[LegChange] = asyncio.Queue()
        self.raised = 0
        self.failures = 0

    async def __call__(self, change: LegChange) -> None:
        self.changes.put_nowait(change)

    async def run(self) -> None:
        while True:
            await self.store(await self.changes.get())

    async def store(self, change: LegChange) -> None:
        leg = change.after
        kind = AlertKind.TRUNK_DOWN if change.down else AlertKind.TRUNK_UP
        detail: dict[str, object] = {"line": leg.line, "leg": leg.leg, "since": leg.since}
        if change.stopped:  # removed or no longer qualified: the down's notice closes it
            detail["stopped"] = True
        try:
            if self.actor is None:
                self.actor = await system_actor(self.sessions, TRUNK_USER)
            async with self.sessions() as session, session.begin():
                alert_id = await raise_centre_alert(
                    session, kind, change.aor, self.actor, utc_now(), detail
                )
        except Exception:  # the next change is told
            self.failures += 1
            log.exception("trunk %s: %s alert not stored", change.aor, kind.value)
            return
        if alert_id is None:
            log.info("trunk %s: %s already told", change.aor, kind.value)
            return
        self.raised += 1
        self.wake()
