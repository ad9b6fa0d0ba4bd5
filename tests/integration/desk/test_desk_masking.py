"""The pop's caller number on a real Redis bus: masked for a caller who asked for it, and
masked as well while that is not known (history late or failed): never shown by mistake."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from agent_gateway.desk.service import DeskService
from agent_gateway.edge.bus import Bus, BusMessage
from crm.domain.caller import CallerSummary
from telephony.call import Call, CallChanged, CallState
from telephony.events import AgentRinging
from telephony.tracker import CallTracker


class NoAmi:
    async def action(self, name: str, timeout: float = 5.0, **headers: str) -> dict[str, str]:
        return {"Response": "Success"}


async def pop_for(redis: Redis, history: Any) -> dict[str, Any]:
    """Ring agent 1001 for a call from 13800001111 and return the pop its desktop gets."""
    desk = DeskService(
        Bus(redis), redis, NoAmi(), CallTracker(), {"1001": "王芳"}, ["hotline"], history
    )
    async with desk:
        pops: list[BusMessage] = []
        desk.writer.attach(lambda m: pops.append(m) if m.body["type"] == "screen_pop" else None)
        call = Call("L1", "L1", "PJSIP/carrier-1", "13800001111", "李雷", 1.0, CallState.QUEUED,
                    queue="hotline", queued_at=2.0)  # fmt: skip
        await desk.on_call(CallChanged(call, None, None))
        ringing = AgentRinging(3.0, "L1", "L1", "PJSIP/carrier-1", "hotline", "PJSIP/1001", "王芳",
                               "PJSIP/1001-1")  # fmt: skip
        rung = replace(call, state=CallState.RINGING, ringing=("PJSIP/1001",))
        await desk.on_call(CallChanged(rung, CallState.QUEUED, ringing))
    (pop,) = pops
    return pop.body


async def test_known_history_decides(redis: Redis) -> None:
    async def plain(number: str) -> CallerSummary:
        return CallerSummary(({"number": "A1", "status": "closed", "confidential": False},), (),
                             confidential=False)  # fmt: skip

    async def private(number: str) -> CallerSummary:
        return CallerSummary(({"number": "A2", "status": "closed", "confidential": True},), (),
                             confidential=True)  # fmt: skip

    shown = await pop_for(redis, plain)
    assert shown["caller"] == {"number": "13800001111", "name": "李雷", "masked": False}
    hidden = await pop_for(redis, private)
    assert hidden["caller"]["masked"] and hidden["caller"]["number"] == "138****1111"


async def test_late_or_failed_history_masks(redis: Redis) -> None:
    async def late(number: str) -> CallerSummary:
        await asyncio.sleep(5)
        return CallerSummary((), (), confidential=False)

    async def failing(number: str) -> CallerSummary:
        raise ConnectionError("database away")

    for loader in (late, failing):
        pop = await pop_for(redis, loader)
        assert pop["caller"]["masked"] and pop["caller"]["number"] == "138****1111", loader
        assert pop["history"] == []
