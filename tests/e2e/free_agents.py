"""How long a free agent waits for Asterisk to ring them, read from Asterisk's own AMI events.

An agent is free in a queue when app_queue could ring them: their device is not in use
(`QueueMemberStatus` Status 1) and they are not paused. Every free spell ends either with
`AgentCalled` for them (the ring) or with them stopping being free without a ring (paused,
or their phone taken for something else). Times are Asterisk's event timestamps
(`timestampevents=yes`), so the measure does not depend on how loaded this process is.
Pure functions over event header maps, and the AMI tap that collects the events and ends the
agents' calls: the E2E test and the burst bench share them (test and bench support, not a
part of the backend).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass

from telephony.ami import AmiClient
from telephony.ami_connection import AmiEvent

NOT_IN_USE = "1"
RINGING = "6"


@dataclass(frozen=True)
class FreeSpell:
    """One stretch of an agent being free while callers waited for more than the ringing."""

    interface: str
    free_at: float
    waiting: int  # callers in the queue at that moment
    ringing: int  # of them, how many were already ringing an agent
    ended_at: float | None  # None: still free when the events end
    rung: bool  # ended by AgentCalled for this agent

    @property
    def delay_s(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.free_at


@dataclass
class _Member:
    status: str = ""
    paused: bool = True
    free_since: float | None = None
    waiting: int = 0
    ringing: int = 0

    @property
    def free(self) -> bool:
        return self.status == NOT_IN_USE and not self.paused


def free_spells(
    events: Iterable[Mapping[str, str]],
    queue: str,
    interfaces: Iterable[str],
    *,
    until_served: bool = False,
) -> list[FreeSpell]:
    """Every free spell of `interfaces` in `queue` that began while a caller of the queue
    was waiting and not already ringing someone (so app_queue had somebody to ring).

    With `until_served`, a spell lasts only while some caller waits unrung: it ends, not
    rung, once every waiting caller rings someone (another free agent took them: with agents
    to spare, one left free is no delay), and starts again when a caller waits unrung."""
    members = {i: _Member() for i in interfaces}
    waiting = 0
    ringing: set[str] = set()  # caller Uniqueids currently ringing an agent
    spells: list[FreeSpell] = []

    def close(interface: str, member: _Member, at: float, rung: bool) -> None:
        if member.free_since is not None and member.waiting > member.ringing:
            since, waited, rang = member.free_since, member.waiting, member.ringing
            spells.append(FreeSpell(interface, since, waited, rang, at, rung))
        member.free_since = None

    def update(interface: str, member: _Member, at: float, rung: bool = False) -> None:
        if member.free and member.free_since is None:
            member.free_since, member.waiting, member.ringing = at, waiting, len(ringing)
        elif (rung or not member.free) and member.free_since is not None:
            close(interface, member, at, rung)

    for event in events:
        if event.get("Queue") != queue:
            continue
        name, at = event.get("Event"), float(event.get("Timestamp", "0"))
        interface = event.get("Interface", "")
        member = members.get(interface)
        if name in ("QueueCallerJoin", "QueueCallerLeave"):
            waiting = int(event.get("Count", "0"))
        if name in ("QueueCallerLeave", "QueueCallerAbandon", "AgentRingNoAnswer", "AgentDump"):
            ringing.discard(event.get("Uniqueid", ""))
        if member is not None:
            if name == "QueueMemberStatus":
                member.status = event.get("Status", "")
                member.paused = event.get("Paused") == "1"
                update(interface, member, at)
            elif name == "QueueMemberPause":
                member.paused = event.get("Paused") == "1"
                update(interface, member, at)
            elif name == "AgentCalled":
                ringing.add(event.get("Uniqueid", ""))
                update(interface, member, at, rung=True)
                member.status = RINGING  # until app_queue says otherwise
        if until_served:
            for other, free in members.items():
                if waiting > len(ringing):
                    update(other, free, at)
                elif free.free_since is not None:
                    close(other, free, at, rung=False)
    for interface, member in members.items():
        if member.free_since is not None and member.waiting > member.ringing:
            spells.append(
                FreeSpell(interface, member.free_since, member.waiting, member.ringing, None, False)
            )
    return spells


class AgentLegTap:
    """Our own AMI login: keeps every event, and hangs up each agent leg of `queue` `talk_s`
    after the agent answered (as the desktop's hang-up button would)."""

    def __init__(self, ami: AmiClient, queue: str, talk_s: float) -> None:
        self.ami = ami
        self.queue = queue
        self.talk_s = talk_s
        self.events: list[dict[str, str]] = []
        self.hangups: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while True:
            item = await self.ami.events.get()
            if not isinstance(item, AmiEvent):
                continue
            self.events.append(dict(item.headers))
            if item.name == "AgentConnect" and item.get("Queue") == self.queue:
                task = asyncio.create_task(self._hang_up_later(item.get("DestChannel", "")))
                self.hangups.add(task)
                task.add_done_callback(self.hangups.discard)

    async def _hang_up_later(self, channel: str) -> None:
        await asyncio.sleep(self.talk_s)
        with suppress(Exception):  # the caller may be gone already
            await self.ami.action("Hangup", Channel=channel, Cause="16")

    def named(self, name: str) -> list[dict[str, str]]:
        return [e for e in self.events if e.get("Event") == name]
