"""Wrap-ups across a backend restart, on a real Redis: the deadline is recorded when the
wrap-up starts, a new DeskService on the same Redis resumes it to that deadline, or lifts
the pause in Asterisk if the deadline has passed; unusable records are dropped."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from redis.asyncio import Redis

from agent_gateway.desk.service import DeskService
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.protocol import PresenceState
from crm.domain.caller import NO_NUMBER, CallerSummary
from telephony.call import Call, CallChanged, CallState
from telephony.events import (
    AgentAnswered,
    AgentRinging,
    ChannelHungUp,
    QueueMemberChanged,
    QueueMembersListed,
)
from telephony.tracker import CallTracker

KEY = "hotline:wrap_ups"


class RecordingAmi:
    """Only what the desk sends Asterisk is of interest here (the actions, in order)."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, dict[str, str]]] = []

    async def action(self, name: str, timeout: float = 5.0, **headers: str) -> dict[str, str]:
        self.actions.append((name, headers))
        return {"Response": "Success"}

    async def action_list(
        self, name: str, timeout: float = 5.0, **headers: str
    ) -> list[dict[str, str]]:
        """A list action (a re-sync's): recorded like any action; Asterisk lists nothing."""
        await self.action(name, timeout, **headers)
        return []


async def _no_history(number: str) -> CallerSummary:
    return NO_NUMBER


def _desk(
    redis: Redis, ami: RecordingAmi, max_wrapup_s: float, clock: Callable[[], float] = time.time
) -> DeskService:
    return DeskService(
        Bus(redis), redis, ami, CallTracker(), {"1001": "王芳"}, ["hotline"], _no_history,
        max_wrapup_s=max_wrapup_s, clock=clock,
    )  # fmt: skip


def _listing(paused: bool, reason: str = "") -> QueueMembersListed:
    member = QueueMemberChanged(time.time(), "hotline", "PJSIP/1001", "王芳", 1, paused, reason,
                                False)  # fmt: skip
    return QueueMembersListed(time.time(), (member,))


async def _a_call_answered_and_ended(
    desk: DeskService, during: Callable[[], Awaitable[None]] | None = None
) -> None:
    """1001 answers call L1, which ends (`during`: what happens while they talk)."""
    call = Call("L1", "L1", "PJSIP/carrier-1", "13800001111", "李雷", 1.0, CallState.QUEUED,
                queue="hotline", queued_at=2.0)  # fmt: skip
    agent = ("L1", "L1", "PJSIP/carrier-1", "hotline", "PJSIP/1001", "王芳", "PJSIP/1001-1")
    rung = replace(call, state=CallState.RINGING, ringing=("PJSIP/1001",))
    await desk.on_call(CallChanged(rung, CallState.QUEUED, AgentRinging(3.0, *agent)))
    talking = replace(rung, state=CallState.TALKING, ringing=(), agent_interface="PJSIP/1001")
    await desk.on_call(CallChanged(talking, CallState.RINGING, AgentAnswered(4.0, *agent, 1, 1)))
    if during is not None:
        await during()
    ended = replace(talking, state=CallState.ENDED, ended_at=9.0, end_reason="hung up by caller")
    hangup = ChannelHungUp(9.0, "L1", "L1", "PJSIP/carrier-1", 16, "Normal Clearing")
    await desk.on_call(CallChanged(ended, CallState.TALKING, hangup))
    await desk.writer.drained()


async def test_a_wrap_up_outlives_its_backend_and_ends_at_its_deadline(redis: Redis) -> None:
    first_ami = RecordingAmi()
    first = _desk(redis, first_ami, max_wrapup_s=30)
    async with first:
        await first.on_event(_listing(paused=False))
        started = time.time()
        await _a_call_answered_and_ended(first)
        assert first.presences["1001"].state is PresenceState.WRAP_UP
        assert (
            "QueuePause",
            {"Interface": "PJSIP/1001", "Paused": "true", "Reason": "wrap-up"},
        ) in first_ami.actions
        record = json.loads(await redis.hget(KEY, "1001") or "{}")
        assert record["call_id"] == "L1"
        assert started + 29 < record["deadline"] < time.time() + 31
    # The backend went; its timer with it.

    # A new backend, whose max_wrapup_s has changed meanwhile: the recorded deadline holds.
    second_ami = RecordingAmi()
    second = _desk(redis, second_ami, max_wrapup_s=600)
    async with second:
        await second.on_event(_listing(paused=True, reason="wrap-up"))
        await second.writer.drained()
        resumed = second.presences["1001"]
        assert (resumed.state, resumed.call_id) == (PresenceState.WRAP_UP, "L1")
        assert second_ami.actions == []  # Asterisk holds the pause already
        assert json.loads(await redis.hget(KEY, "1001") or "{}") == record

    # A backend back only after that deadline: the pause is lifted at once, the record gone.
    third_ami = RecordingAmi()
    third = _desk(redis, third_ami, max_wrapup_s=600, clock=lambda: time.time() + 60)
    async with third:
        later = replace(_listing(paused=True, reason="wrap-up"), at=time.time() + 60)
        await third.on_event(later)
        await third.writer.drained()
        assert third.presences["1001"].state is PresenceState.AVAILABLE
        assert third_ami.actions == [("QueuePause", {"Interface": "PJSIP/1001", "Paused": "false"})]
        assert await redis.hget(KEY, "1001") is None


async def test_unusable_records_are_dropped_at_start(redis: Redis) -> None:
    await redis.hset(KEY, mapping={
        "1001": "{not json",
        "9999": json.dumps({"call_id": "L9", "deadline": time.time() + 60}),  # not configured
    })  # fmt: skip
    ami = RecordingAmi()
    desk = _desk(redis, ami, max_wrapup_s=30)
    async with desk:
        assert await redis.hgetall(KEY) == {}
        # 1001 is held in a wrap-up pause nobody can vouch for: lifted.
        await desk.on_event(_listing(paused=True, reason="wrap-up"))
        await desk.writer.drained()
        assert ami.actions == [("QueuePause", {"Interface": "PJSIP/1001", "Paused": "false"})]
        assert desk.presences["1001"].state is PresenceState.AVAILABLE
