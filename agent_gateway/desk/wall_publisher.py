"""Publishes the supervisors' live wall: the day's figures read from the call records (the CRM's
`wall_figures`), joined with the desk's live state (`agent_gateway.desk.wall`), every
`refresh_s` and soon after every call or agent change (a telephony listener wakes it).

A wall is published on the supervisors' topic only when its content changed (the page counts
the durations on itself), and kept in Redis (`WALL_KEY`) for the supervisors' snapshot, in the
same transaction as the message. The wrap-up tally (the one figure that only the presence
machine knows) is kept in Redis too, so that a restarted backend keeps the day's averages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from agent_gateway.desk.outbox import Outbox
from agent_gateway.desk.presence import AgentPresence
from agent_gateway.desk.service import DeskService
from agent_gateway.desk.wall import LiveFloor, Thresholds, WrapUpTally, build_wall
from agent_gateway.edge.protocol import SUPERVISORS
from agent_gateway.edge.store import WALL_KEY, dumps
from agent_gateway.edge.wall_message import Wall
from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.domain.wall_figures import ServiceRule
from crm.jobs.periodic import PeriodicJob
from crm.usecases.wall_figures import WallCounter

log = logging.getLogger(__name__)

# The wrap-up tally of the day: {"day": …, "done": {extension: [count, total_s]}}.
WRAP_UP_TALLY_KEY = "hotline:wall:wrap_ups"
MIN_GAP_S = 1.0
# What a change is: the wall less what only moves with the clock.
_CLOCK_ONLY: Any = {"at": True, "queues": {"__all__": {"longest_wait_s"}}}


class WallPublisher(PeriodicJob):
    name = "live wall"

    def __init__(
        self, desk: DeskService, sessions: SessionFactory, rule: ServiceRule,
        limits: Thresholds, refresh_s: float = 2.0, clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        super().__init__(refresh_s)
        self.desk, self.sessions, self.rule, self.limits = desk, sessions, rule, limits
        self.clock = clock
        self.tally = WrapUpTally()
        self.counter = WallCounter(rule)
        self._ran_at = 0.0
        self.last: Wall | None = None
        self._seen: dict[str, AgentPresence] = {}

    async def start(self) -> None:
        raw = await self.desk.redis.get(WRAP_UP_TALLY_KEY)
        try:
            stored = json.loads(raw) if raw else {}
            done = {ext: (int(c), float(t)) for ext, (c, t) in stored.get("done", {}).items()}
            self.tally = WrapUpTally(str(stored.get("day", "")), done)
        except (ValueError, TypeError, AttributeError):
            log.error("unusable wrap-up tally in %s: counting the day's wrap-ups afresh",
                      WRAP_UP_TALLY_KEY)  # fmt: skip
        self._seen = dict(self.desk.presences)

    async def on_call(self, _effect: object) -> None:
        """A telephony listener (after the desk's: its presence is up to date)."""
        self._observe()
        self.wake()

    async def on_event(self, _event: object) -> None:
        self._observe()
        self.wake()

    def _observe(self) -> None:
        """Count the wrap-ups that ended since the last look (the presence's `since` is the
        moment it ended)."""
        changed = False
        for ext, now in self.desk.presences.items():
            before = self._seen.get(ext)
            if before is not None and before != now:
                changed |= self.tally.observe(before, now)
        self._seen = dict(self.desk.presences)
        if changed:
            record = {"day": self.tally.day, "done": self.tally.done}
            out = Outbox()
            out.writes.append(lambda p: p.set(WRAP_UP_TALLY_KEY, dumps(record)))
            self.desk.writer.submit(out)

    async def run_once(self) -> None:
        # Woken by every change, it still counts at most once every MIN_GAP_S: a burst of
        # calls is one round, not one per event.
        await asyncio.sleep(max(0.0, self._ran_at + MIN_GAP_S - self.clock()))
        self._ran_at = self.clock()
        self._observe()
        async with self.sessions() as session:
            figures = await self.counter.figures(session, utc_now())
        desk = self.desk
        floor = LiveFloor(
            queues=desk.queues, presences=desk.presences, members=desk.members,
            calls=list(desk.tracker.calls.values()),
            emergency_started=desk.control.emergency_started,
            transfer_due=desk.control.transfer_due,
        )  # fmt: skip
        raised = {} if self.last is None else {a.key: a.raised_at for a in self.last.alerts}
        wall = build_wall(floor, figures, self.tally, self.rule, self.limits, raised, self.clock())
        if self.last is not None and wall.model_dump(exclude=_CLOCK_ONLY) == self.last.model_dump(
            exclude=_CLOCK_ONLY
        ):
            return
        self.last = wall
        for alert in wall.alerts:
            if alert.key not in raised:
                log.warning("wall alert: %s", alert.key)
        body = wall.model_dump(mode="json")
        out = Outbox()
        out.writes.append(lambda p: p.set(WALL_KEY, dumps(body)))
        out.publish(SUPERVISORS, body)
        desk.writer.submit(out)
