"""The live wall's emergency clocks on a real consult to 110: the call shows with its
10-minute clock from the moment the consult began, and goes once the call is over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from agent_gateway.edge.store import read_wall
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan
from telephony.actions import hang_up
from telephony.call import CallState
from tests.e2e.harness import Centre, running_centre

POLICE = (free_udp_port(), free_udp_port())


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    trunks = {"police": {"number": "110", "primary": f"127.0.0.1:{POLICE[0]}",
                         "backup": f"127.0.0.1:{POLICE[1]}", "dial_timeout_s": 3,
                         "qualify_s": 0}}  # fmt: skip
    up = running_centre(tmp_path_factory.mktemp("wall-emergency"), trunks=trunks)
    async with up as c, c.agents_paused("1002", "1901", reason="会议"):  # 1001 takes the call
        yield c


async def wall_when(centre: Centre, ok: Callable[[dict[str, Any]], bool], what: str
                    ) -> dict[str, Any]:  # fmt: skip
    last = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        last = await read_wall(centre.hotline.redis)
        if last is not None and ok(last):
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"the wall never showed {what}: {last}")


async def test_an_emergency_consult_shows_its_clock_on_the_wall(centre: Centre) -> None:
    number = "13900001110"
    plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=90_000)
    calling = asyncio.create_task(centre.call([CallerIdentity("报警人", number)], plan, 120))
    try:
        talking = await centre.log.wait_for(
            lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 30
        )
        call = talking.call
        async with AgentPhone(centre.workdir, "127.0.0.1", POLICE[0], 300):
            began = time.time()
            await centre.hotline.control.consult(call, "110", "hold")
            wall = await wall_when(centre, lambda w: bool(w["emergencies"]), "the clock")
            (clock,) = wall["emergencies"]
            assert clock["call_id"] == call.linkedid and clock["agent_extension"] == "1001"
            assert began - 1 < clock["started_at"] < time.time()
            assert clock["due_at"] == clock["started_at"] + 600  # the 10-minute limit
            listed = [c for c in wall["calls"] if c["call_id"] == call.linkedid]
            assert listed and listed[0]["agent_extension"] == "1001"
            assert wall["alerts"] == []  # 10 minutes are far from the 2-minute warning
            await hang_up(centre.hotline.ami, call.channel)
            await wall_when(centre, lambda w: not w["emergencies"], "the clock gone")
    finally:
        await calling
