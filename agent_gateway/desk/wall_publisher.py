"""Publishes the supervisors' live wall: the day's figures read from the call records (the CRM's
`wall_figures`), joined with the desk's live state (`agent_gateway.desk.wall`), every
`refresh_s` and soon after every call or agent change (a telephony listener wakes it).

A wall is published on the supervisors' topic only when its content changed (the page counts
the durations on itself), and kept in Redis (`WALL_KEY`) for the supervisors' snapshot, in the
same transaction as the message. The wrap-up tally (the one figure that only the presence
machine knows) is kept in Redis too, so that a restarted backend keeps the day's averages,
and so is each agent's state and its start (`STATE_STARTS_KEY`): after a re-sync, an agent
found in the same state and reason keeps its time in state and its long-pause alert (whose
`raised_at` is read back from the last wall). The trunk legs' health is the trunk monitor's
(`trunks`), which wakes it on every change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agent_gateway.desk.outbox import Outbox
from agent_gateway.desk.presence import AgentPresence
from agent_gateway.desk.service import DeskService
from agent_gateway.desk.wall import (
    LiveFloor,
    StateStart,
    Thresholds,
    WrapUpTally,
    build_wall,
    restored_starts,
)
from agent_gateway.edge.protocol import SUPERVISORS
from agent_gateway.edge.store import WALL_KEY, dumps, read_wall
from agent_gateway.edge.wall_message import Wall, WallTrunk
from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.domain.wall_figures import ServiceRule
from crm.jobs.periodic import PeriodicJob
from crm.usecases.wall_figures import WallCounter
from telephony.events import QueueMembersListed
from telephony.trunk_health import LegHealth, ordered

log = logging.getLogger(__name__)

# The wrap-up tally of the day: {"day": …, "done": {extension: [count, total_s]}}.
WRAP_UP_TALLY_KEY = "hotline:wall:wrap_ups"
# Each agent's state as the wall last showed it: {extension: [state, reason, since]}.
STATE_STARTS_KEY = "hotline:wall:state_starts"
MIN_GAP_S = 1.0
# What a change is: the wall less what only moves with the clock.
_CLOCK_ONLY: Any = {"at": True, "queues": {"__all__": {"longest_wait_s"}}}


class WallPublisher(PeriodicJob):
    name = "live wall"

    def __init__(
        self, desk: DeskService, sessions: SessionFactory, rule: ServiceRule,
        limits: Thresholds, agent_queues: Mapping[str, Sequence[str]], refresh_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        super().__init__(refresh_s)
        self.desk, self.sessions, self.rule, self.limits = desk, sessions, rule, limits
        self.agent_queues = agent_queues  # extension → the queues it is configured to serve
        self.clock = clock
        self.tally = WrapUpTally()
        self.counter = WallCounter(rule)
        self._ran_at = 0.0
        self.last: Wall | None = None
        self._seen: dict[str, AgentPresence] = {}
        # extension → (the desk's presence, the same with its start restored) while it lasts
        self._restored: dict[str, tuple[AgentPresence, AgentPresence]] = {}
        self._starts: dict[str, StateStart] | None = None  # as written; None before a re-sync
        self._raised: dict[str, float] = {}  # the alerts of the wall before a restart
        self.trunks: Mapping[str, LegHealth] = {}  # the trunk monitor's, kept up to date

    def follow_rule(self, rule: ServiceRule) -> None:
        """Count by `rule` from the next round on (a goal changed live: today counted again)."""
        self.rule = rule
        self.counter.counter.follow(rule)

    async def start(self) -> None:
        raw = await self.desk.redis.get(WRAP_UP_TALLY_KEY)
        try:
            stored = json.loads(raw) if raw else {}
            done = {ext: (int(c), float(t)) for ext, (c, t) in stored.get("done", {}).items()}
            self.tally = WrapUpTally(str(stored.get("day", "")), done)
        except (ValueError, TypeError, AttributeError):
            log.error("unusable wrap-up tally in %s: counting the day's wrap-ups afresh",
                      WRAP_UP_TALLY_KEY)  # fmt: skip
        last = await read_wall(self.desk.redis)
        try:
            alerts = [] if last is None else last.get("alerts", [])
            self._raised = {str(a["key"]): float(a["raised_at"]) for a in alerts}
        except (KeyError, ValueError, TypeError, AttributeError):
            log.error("unusable alerts in the last wall: the standing ones are raised anew")
        self._seen = self._presences()

    async def on_call(self, _effect: object) -> None:
        """A telephony listener (after the desk's: its presence is up to date)."""
        self._observe()
        self.wake()

    async def on_event(self, event: object) -> None:
        if isinstance(event, QueueMembersListed):  # after the desk's re-sync of the presences
            await self._restore_starts()
        self._observe()
        self.wake()

    async def _restore_starts(self) -> None:
        raw = await self.desk.redis.get(STATE_STARTS_KEY)
        try:
            stored = json.loads(raw) if raw else {}
            recorded = {str(ext): (str(st), None if r is None else str(r), float(since))
                        for ext, (st, r, since) in stored.items()}  # fmt: skip
        except (ValueError, TypeError, AttributeError):
            log.error("unusable state starts in %s: times in state start again", STATE_STARTS_KEY)
            recorded = {}
        presences = self.desk.presences
        found = restored_starts(presences, recorded)
        self._restored = {ext: (presences[ext], p) for ext, p in found.items()}
        self._starts = {}

    def _presences(self) -> dict[str, AgentPresence]:
        """The desk's presences, with a start the re-sync restored while the state lasts."""
        shown = dict(self.desk.presences)
        for ext, (found, restored) in list(self._restored.items()):
            if shown.get(ext) == found:
                shown[ext] = restored
            else:
                del self._restored[ext]
        return shown

    def _observe(self) -> None:
        """Count the wrap-ups that ended since the last look (the presence's `since` is the
        moment it ended), and once re-synced keep each agent's state and start in Redis."""
        changed = False
        shown = self._presences()
        for ext, now in shown.items():
            before = self._seen.get(ext)
            if before is not None and before != now:
                changed |= self.tally.observe(before, now)
        self._seen = shown
        out = Outbox()
        if changed:
            record = {"day": self.tally.day, "done": self.tally.done}
            out.writes.append(lambda p: p.set(WRAP_UP_TALLY_KEY, dumps(record)))
        starts = {ext: (p.state.value, p.reason, p.since) for ext, p in shown.items()}
        if self._starts is not None and starts != self._starts:  # kept once re-synced
            self._starts = starts
            out.writes.append(lambda p: p.set(STATE_STARTS_KEY, dumps(starts)))
        if out.writes:
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
            queues=desk.queues, presences=self._seen, members=desk.members,
            agent_queues=self.agent_queues,
            calls=list(desk.tracker.calls.values()),
            emergency_started=desk.control.emergency_started,
            transfer_due=desk.control.transfer_due,
            trunks=[WallTrunk(line=h.line, leg=h.leg, state=h.state.value, since=h.since or None)
                    for h in ordered(self.trunks)],
        )  # fmt: skip
        last = self.last
        raised = self._raised if last is None else {a.key: a.raised_at for a in last.alerts}
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
