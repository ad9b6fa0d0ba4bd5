"""Overflow seats on the queue's thresholds, in the real Asterisk: the seat (1901) joins the
hotline queue when two callers wait (the wait threshold far off), stays in while one is left
(hysteresis) and takes that one too, and leaves the queue once it drained (its call goes
on); a lower wait threshold applied live brings it in for one caller who already waits. The
hotline's own agents are paused, so callers wait; each switch reaches the supervisors' bus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from config.settings import Settings
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.call import Call, CallState
from tests.e2e.harness import Centre, running_centre
from tests.e2e.queue_support import member_is, overflow_switches, queue_status
from tests.support.polling import eventually

SEAT = "PJSIP/1901"
PLAN = CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=40_000)


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    state = tmp_path_factory.mktemp("overflow-seats")
    async with running_centre(state, announce_position=False) as centre:
        yield centre


def with_seats(settings: Settings, **limits: int) -> Settings:
    """The hotline queue's seats: agents of skill `overflow`, on these thresholds (and no
    longer the old penalty-1 members)."""
    data: dict[str, Any] = settings.model_dump()
    data["queues"] = [q | {"overflow_skill": None} for q in data["queues"]]
    data["overflow"] = [{"queue": "hotline", "skill": "overflow", **limits}]
    return Settings.model_validate(data)


async def members(centre: Centre) -> set[str]:
    return (await queue_status(centre))[1]


async def seat_is(centre: Centre, member: bool, what: str, timeout: float = 5) -> None:
    await member_is(centre, SEAT, member, what, timeout)


async def talking(centre: Centre, number: str) -> Call:
    effect = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 30
    )
    return effect.call


async def test_two_waiting_bring_the_seat_in_until_the_queue_drains(centre: Centre) -> None:
    hotline = centre.hotline
    limits = {"start_waiting": 2, "start_wait_s": 600, "stop_waiting": 0, "stop_wait_s": 599}
    await hotline.apply_settings(with_seats(hotline.settings, **limits))
    await seat_is(centre, False, "the old penalty-1 seat out of the queue")
    seq = await hotline.bus.last_seq()
    async with centre.agents_paused("1001", "1002", reason="会议"):
        burst = asyncio.create_task(centre.call(
            [CallerIdentity("钱一", "13900000201"), CallerIdentity("钱二", "13900000202")], PLAN
        ))  # fmt: skip
        first = await centre.log.wait_for(
            lambda e: e.call.state is CallState.TALKING and e.call.caller_number.startswith(
                "1390000020"), 30,
        )  # fmt: skip
        assert first.call.agent_interface == SEAT
        other = "13900000202" if first.call.caller_number == "13900000201" else "13900000201"
        assert SEAT in await members(centre)  # one caller left: below start, above stop
        await hotline.ami.action("Hangup", Channel=first.call.agent_channel, Cause="16")
        second = await talking(centre, other)
        assert second.agent_interface == SEAT
        await seat_is(centre, False, "the seat out of the drained queue")
        still = hotline.tracker.get(second.linkedid)
        assert still is not None and still.state is CallState.TALKING  # not hung up
        await hotline.ami.action("Hangup", Channel=second.agent_channel, Cause="16")
        result = await asyncio.wait_for(burst, 30)
    assert result.ok, result.errors
    assert await overflow_switches(centre, seq) == [
        (True, "溢出席位启用（hotline）：排队 2 人，达到启用阈值 2 人"),
        (
            False,
            "溢出席位停用（hotline）：排队 0 人、最长等待 0 秒，已降至停用阈值（0 人、599 秒）",
        ),
    ]


async def test_a_lower_wait_threshold_applied_live_brings_the_seat_in(centre: Centre) -> None:
    hotline = centre.hotline
    limits = {"start_waiting": 2, "start_wait_s": 600, "stop_waiting": 0, "stop_wait_s": 2}
    await hotline.apply_settings(with_seats(hotline.settings, **limits))
    seq = await hotline.bus.last_seq()
    async with centre.agents_paused("1001", "1002", reason="会议"):
        calling = asyncio.create_task(centre.call([CallerIdentity("孙三", "13900000203")], PLAN))
        queued = await centre.log.wait_for(
            lambda e: e.call.caller_number == "13900000203" and e.call.state is CallState.QUEUED,
            20,
        )
        assert queued.call.queued_at is not None
        start = queued.call.queued_at

        async def waited_4_s() -> bool:
            return time.time() - start >= 4

        await eventually(waited_4_s, 10, "the caller waiting 4 s")
        assert SEAT not in await members(centre)  # one caller, 4 s: under 2 and 600 s
        applied = time.monotonic()
        await hotline.apply_settings(with_seats(hotline.settings, **limits | {"start_wait_s": 3}))
        await seat_is(centre, True, "the seat in on the new wait threshold", timeout=2)
        seat_in_s = time.monotonic() - applied
        call = await talking(centre, "13900000203")
        assert call.agent_interface == SEAT
        await hotline.ami.action("Hangup", Channel=call.agent_channel, Cause="16")
        await seat_is(centre, False, "the seat out once nobody waits")
        result = await asyncio.wait_for(calling, 30)
    assert result.ok, result.errors
    told = await overflow_switches(centre, seq)
    assert [on for on, _ in told] == [True, False]
    assert (
        told[0][1].startswith("溢出席位启用（hotline）：最长等待 ")
        and "启用阈值 3 秒" in told[0][1]
    )
    print(f"seat in {seat_in_s * 1000:.0f} ms after apply_settings began")  # goal: bench/


async def test_a_seat_on_a_break_joins_paused_and_is_not_rung(centre: Centre) -> None:
    hotline, ami = centre.hotline, centre.hotline.ami
    limits = {"start_waiting": 1, "start_wait_s": 600, "stop_waiting": 0, "stop_wait_s": 10}
    await hotline.apply_settings(with_seats(hotline.settings, **limits))
    # 1901 is on its lunch break in the complaint queue
    await ami.action("QueueAdd", Queue="complaint", Interface=SEAT, StateInterface=SEAT,
                     Paused="true")  # fmt: skip
    await ami.action("QueuePause", Queue="complaint", Interface=SEAT, Paused="true", Reason="午餐")
    try:
        async with centre.agents_paused("1001", "1002", reason="会议"):
            plan = CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=6000)
            calling = asyncio.create_task(
                centre.call([CallerIdentity("李四", "13900000204")], plan)
            )
            await seat_is(centre, True, "the seat in for one caller", timeout=10)
            items = await ami.action_list("QueueStatus", Queue="hotline", Member=SEAT)
            seat = next(i for i in items if i.get("Event") == "QueueMember")
            assert (seat["Paused"], seat["PausedReason"]) == ("1", "午餐")
            result = await asyncio.wait_for(calling, 30)  # the caller gives up, never answered
            await seat_is(centre, False, "the seat out once the caller left", timeout=5)
    finally:
        await ami.action("QueueRemove", Queue="complaint", Interface=SEAT)
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000204")
    rung = {
        i for e in centre.log.effects if e.call.linkedid == call.linkedid for i in e.call.ringing
    }
    assert call.state is CallState.ABANDONED and SEAT not in rung
