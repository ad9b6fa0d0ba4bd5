"""Overflow seats put into their queue and taken out on the queue's thresholds
(`telephony.overflow_rule`): every `interval_s`, or at once when woken (a configuration
applied live), each rule of the current settings is evaluated against the tracker's live
calls. In: `QueueAdd` of each seat at SEAT_PENALTY (rung after every agent of the queue's
skill, at once: within every caller's rule; paused with its reason when it is paused in its
other queues); out: `QueueRemove`, which ends no call in progress (the
seat keeps its caller to the end), never of an agent the current settings make one of the
queue's own members (a seat given the queue's skill stays in). Each evaluation holds
`members`, the lock the live apply holds from reading the members to following the new
settings. Each switch is logged and handed to `on_switch` (the supervisors' bus, by the
wiring root)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from config.settings import SEAT_PENALTY, Settings
from config.telephony_sections import OverflowSeats
from telephony.actions import add_queue_member, paused_reason, remove_queue_member
from telephony.control_resync import AmiLists
from telephony.overflow_rule import decide, pressure_of
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Switch:
    queue: str
    on: bool
    reason: str
    seats: tuple[str, ...]  # extensions
    at: float  # epoch seconds


def own_members(settings: Settings, queue_name: str) -> set[str]:
    """The extensions of the queue's own members (its skill or old overflow skill serves)."""
    queue = next((q for q in settings.queues if q.name == queue_name), None)
    return set() if queue is None else {a.extension for a, _ in settings.queue_members(queue)}


def seats_of(
    settings: Settings, rule: OverflowSeats, own: set[str] | None = None
) -> dict[str, str]:
    """Extension → name of the rule's seats: agents with its skill or named by extension,
    but not the queue's own members (`own`, when the caller has them already)."""
    own = own_members(settings, rule.queue) if own is None else own
    return {
        a.extension: a.name
        for a in settings.agents
        if (rule.skill in a.skills or a.extension in rule.extensions) and a.extension not in own
    }


class OverflowControl:
    def __init__(
        self,
        ami: AmiLists,
        tracker: CallTracker,
        settings: Settings,
        on_switch: Callable[[Switch], Awaitable[None]],
        interval_s: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ami, self.tracker, self.on_switch = ami, tracker, on_switch
        self.settings = settings  # swapped by `hotline_cli.live_settings.follow`
        self.interval_s, self.clock = interval_s, clock
        self.seated: dict[str, set[str]] = {}  # queue → the seats it has in now
        self._looked: set[str] = set()  # queues evaluated since start-up
        self._woken = asyncio.Event()
        self.members = asyncio.Lock()  # the queues' members: one writer at a time

    def wake(self) -> None:
        """Evaluate now (a new configuration), not at the end of the interval."""
        self._woken.set()

    async def run(self) -> None:
        while True:
            await self.evaluate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self.interval_s)
            self._woken.clear()

    async def evaluate(self) -> None:
        async with self.members:
            await self._evaluate()

    async def _evaluate(self) -> None:
        settings, now = self.settings, self.clock()
        rules = {rule.queue: rule for rule in settings.overflow}
        for queue in [q for q in self.seated if q not in rules]:
            await self._stop(queue, "溢出规则已删除", now, own_members(settings, queue))
        for queue, rule in rules.items():
            pressure = pressure_of(self.tracker.calls.values(), queue, now)
            decision = decide(rule, pressure, queue in self.seated)
            own = own_members(settings, queue)
            seats = seats_of(settings, rule, own)
            if decision.on:
                await self._start(queue, seats, decision.reason, now, own)
            elif queue in self.seated:
                await self._stop(queue, decision.reason, now, own)
            elif queue not in self._looked:  # left in by a backend that stopped: out
                for ext in seats:
                    if await remove_queue_member(self.ami, queue, ext):
                        log.info("overflow seat %s left in queue %s at start-up: out", ext, queue)
            self._looked.add(queue)

    async def _start(
        self, queue: str, seats: dict[str, str], reason: str, now: float, own: set[str]
    ) -> None:
        seated = self.seated.get(queue)
        if seated is not None:  # on already: follow a change of the seats
            await self._out(queue, seated - seats.keys(), own)
            for ext in seats.keys() - seated:
                await self._seat(queue, ext, seats[ext])
            self.seated[queue] = set(seats)
            return
        for ext, name in seats.items():
            await self._seat(queue, ext, name)
        self.seated[queue] = set(seats)
        await self._switched(Switch(queue, True, reason, tuple(sorted(seats)), now))

    async def _seat(self, queue: str, ext: str, name: str) -> None:
        """A seat joins, paused with its reason if it is paused in its other queues (on a
        break, in training: not rung because the queue is busy)."""
        reason = await paused_reason(self.ami, ext)
        await add_queue_member(self.ami, queue, ext, name, SEAT_PENALTY, reason)

    async def _out(self, queue: str, seats: set[str], own: set[str]) -> None:
        """The seats out of the queue, but those now its own members (kept in, as members)."""
        for ext in seats:
            if ext in own:
                log.info("overflow seat %s of queue %s is its own member now: kept", ext, queue)
            else:
                await remove_queue_member(self.ami, queue, ext)

    async def _stop(self, queue: str, reason: str, now: float, own: set[str]) -> None:
        seats = self.seated[queue]
        await self._out(queue, seats, own)
        del self.seated[queue]  # once all are out: a failed removal is tried again
        await self._switched(Switch(queue, False, reason, tuple(sorted(seats)), now))

    async def _switched(self, switch: Switch) -> None:
        word = "启用" if switch.on else "停用"
        log.info("overflow seats %s of queue %s %s: %s", switch.seats, switch.queue, word,
                 switch.reason)  # fmt: skip
        await self.on_switch(switch)
