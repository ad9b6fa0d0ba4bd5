"""Overflow seats: when the hotline's own agents are all busy, a caller who has waited
`overflow_after_s` is offered to the overflow seats too (penalty 1, widened by a queue rule).

app_queue checks its penalty rules once a loop (every `retry` second), and plays position
announcements inside that loop: here they are off, so the seat is offered on time (with them
on, it can be late by the length of an announcement)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.call import CallState
from tests.e2e.harness import Centre, running_centre

OVERFLOW_AFTER_S = 3


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    state = tmp_path_factory.mktemp("overflow")
    async with running_centre(
        state, overflow_after_s=OVERFLOW_AFTER_S, announce_position=False
    ) as centre:
        yield centre


async def test_overflow_seat_answers_after_the_wait_and_not_before(centre: Centre) -> None:
    async with centre.agents_paused("1001", "1002", reason="会议"):
        calling = asyncio.create_task(centre.call(
            [CallerIdentity("孙七", "13900000077")],
            CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=20_000),
        ))  # fmt: skip
        talking = await centre.log.wait_for(
            lambda e: e.call.caller_number == "13900000077" and e.call.state is CallState.TALKING,
            20,
        )
        # Answered: the seat hangs up (the caller need not stay for a fixed time)
        await centre.hotline.ami.action("Hangup", Channel=talking.call.agent_channel, Cause="16")
        result = await asyncio.wait_for(calling, 20)
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000077")
    assert call.state is CallState.ENDED and call.queue == "hotline"
    assert (call.agent_interface, call.agent_name) == ("PJSIP/1901", "赵敏")
    # Not before the wait; then app_queue's 1 s loop counting whole seconds (`elapsed > 3`
    # means 4), and the phone rings 0.8 s before it answers.
    assert call.wait_time_s is not None
    assert OVERFLOW_AFTER_S < call.wait_time_s < OVERFLOW_AFTER_S + 3.5


async def test_with_an_agent_free_the_overflow_seat_is_not_rung(centre: Centre) -> None:
    result = await centre.call(
        [CallerIdentity("周八", "13900000078")],
        CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=4000),
    )
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000078")
    assert call.agent_interface in {"PJSIP/1001", "PJSIP/1002"}
    mine = [e.call for e in centre.log.effects if e.call.linkedid == call.linkedid]
    rung = {interface for state in mine for interface in state.ringing}
    assert "PJSIP/1901" not in rung
