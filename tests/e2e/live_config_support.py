"""What the E2E tests of the live telephony configuration share: the centre's HTTP API as
an admin, the first time each of several checks held, a transfer reaching 110's primary, an
agent's call ended by its side, the desk's wrap-up of an agent over, a caller placed and
seen in a state, a queue's members and who answers a caller."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent_gateway.edge.protocol import PresenceState
from crm.domain.calls import CallOutcome
from crm.domain.masking import mask_number
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, CallerResult
from telephony.actions import blind_transfer
from telephony.call import Call, CallState
from telephony.dialplan import CONTEXT_AGENTS
from tests.e2e.harness import Centre
from tests.e2e.queue_support import ended_record
from tests.support.audio import read_wav
from tests.support.polling import eventually

Check = Callable[[], Awaitable[bool]]
ROOT = "/api/admin/telephony"  # the telephony configuration's admin API
TALKS = CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=60_000)  # ended by the test
ANSWERED_SOON = CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=20_000)


class AdminApi:
    """The centre's HTTP API as one admin (a real user with a bearer token)."""

    def __init__(self, client: aiohttp.ClientSession, centre: Centre, token: str) -> None:
        http = centre.hotline.settings.http
        self.client, self.base = client, f"http://{http.host}:{http.port}"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.client.request(
            method, self.base + path, json=body, headers=self.headers
        ) as response:
            return response.status, await response.json()


async def desk_ticket(api: AdminApi, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with api.client.post(f"{api.base}/api/desk/ticket", json={}, headers=headers) as answer:
        return answer.status


async def hang_up(centre: Centre, call: Call) -> None:
    """The agent's side ends the call (the caller's SIPp answers the BYE)."""
    await centre.hotline.ami.action("Hangup", Channel=call.agent_channel, Cause="16")


async def first_held(checks: Mapping[str, Check], since: float) -> dict[str, float]:
    """Milliseconds from `since` (monotonic) until each check first held, polled together."""
    held: dict[str, float] = {}

    async def all_held() -> bool:
        for name, check in checks.items():
            if name not in held and await check():
                held[name] = (time.monotonic() - since) * 1000
        return held.keys() == checks.keys()

    try:
        await eventually(all_held, 10, "every change held", poll_s=0.05)
    except AssertionError:
        raise AssertionError(f"not held within 10 s: {sorted(checks.keys() - held)}") from None
    return held


async def transfer_reaches_110_primary(centre: Centre, call: Call, port: int, tmp: Path) -> None:
    """The caller blind-transferred to 110 is answered by the far end on `port` over the
    primary leg (nothing listens on the other primary port nor the backup), then let go."""
    ami = centre.hotline.ami
    async with AgentPhone(tmp, "127.0.0.1", port, ring_ms=300):
        await blind_transfer(ami, call.agent_channel, CONTEXT_AGENTS, "110")

        async def primary_up() -> bool:
            listed = await ami.action_list("CoreShowChannels")
            return any(c["Channel"].startswith("PJSIP/trunk-110-primary-")
                       and c.get("ChannelStateDesc") == "Up" for c in listed)  # fmt: skip

        await eventually(primary_up, 10, f"110 answered on port {port} over the primary leg")
        await ami.action_list("Hangup", Channel="/^PJSIP/trunk-110-primary-/", Cause="16")


async def desk_available(centre: Centre, extension: str) -> None:
    """The desk's own wrap-up of the agent's last call is over (its end unpauses the agent:
    a pause given before it would be undone)."""

    async def available() -> bool:
        return centre.hotline.desk.presences[extension].state is PresenceState.AVAILABLE

    await eventually(available, 5, f"{extension} available on the desk")


def calling(centre: Centre, number: str, plan: CallerPlan = TALKS) -> asyncio.Task[CallerResult]:
    return asyncio.create_task(centre.call([CallerIdentity("市民", number)], plan))


async def in_state(centre: Centre, number: str, state: CallState, timeout: float = 20) -> Call:
    effect = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is state, timeout
    )
    return effect.call


async def members(centre: Centre, queue: str) -> dict[str, dict[str, str]]:
    """The queue's members as app_queue holds them, by extension."""
    items = await centre.hotline.ami.action_list("QueueStatus", Queue=queue)
    return {i["StateInterface"].removeprefix("PJSIP/"): i for i in items
            if i.get("Event") == "QueueMember"}  # fmt: skip


async def answered_by(centre: Centre, number: str) -> str:
    """The agent interface that answers a caller, once the agent has hung up (a caller's
    own hang-up could come before a slow answer: the call abandoned, never talking)."""
    caller = calling(centre, number, ANSWERED_SOON)
    talking = await in_state(centre, number, CallState.TALKING)
    await hang_up(centre, talking)
    assert (await caller).ok
    await centre.log.wait_ended(number)
    return talking.agent_interface


async def applied(api: AdminApi, version: int) -> bool:
    """The versions API shows `version` applied."""
    _, listed = await api.call("GET", f"{ROOT}/versions")
    outcome = next(v["applied"] for v in listed["items"] if v["version"] == version)
    return outcome is not None and outcome["ok"]


async def refused_as_nuisance(
    centre: Centre, number: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The nuisance number's call: refused with the message (heard, then let go), never
    queued, recorded so, logged with the number masked."""
    refused = (await centre.log.wait_for(
        lambda e: e.call.caller_number == number
        and (not e.call.active or e.call.state is CallState.QUEUED), 30,
    )).call  # fmt: skip
    assert refused.state is CallState.ENDED and refused.queued_at is None, refused
    assert CallState.QUEUED not in {
        e.call.state for e in centre.log.effects if e.call.linkedid == refused.linkedid
    }
    assert refused.ended_at is not None and refused.started_at is not None
    prompt_s = read_wav(centre.hotline.layout.prompts / "hotline-nuisance.wav").duration_s
    assert prompt_s - 1 < refused.ended_at - refused.started_at < 30
    row = await ended_record(centre, refused.linkedid)
    assert row.outcome is CallOutcome.NUISANCE and row.queued_at is None
    assert row.end_reason == "refused in IVR: nuisance"
    assert any(
        "refused as a nuisance number" in r.getMessage() and mask_number(number) in r.getMessage()
        for r in caplog.records
    ), caplog.text
