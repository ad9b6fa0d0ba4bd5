"""The desk's hang-up and blind transfer on a controlled call: the same decision as the
buttons (`commands_allowed`): no hang-up while a consult is live (the caller would be
dropped with it), no blind transfer once the call is in the rooms."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from agent_gateway.desk.commands.hangup import hangup
from agent_gateway.desk.commands.transfer import transfer
from agent_gateway.desk.commands.verb import CommandFailed, Request
from agent_gateway.desk.presence import AgentPresence
from agent_gateway.edge.protocol import PresenceState
from telephony.call_control_service import CallControl
from telephony.events import ConferenceJoined, DialStarted
from telephony.tracker import CallTracker
from tests.unit.test_call_control_service import CALL, TARGETS, L, SuccessfulAmi, _sent

PRESENCES = {"1001": AgentPresence("1001", "王芳", PresenceState.TALKING, None, 2.0, L)}
HANG_UP = Request("1001", {}, 7, "agent")
BLIND = Request("1001", {"target": "1002"}, 7, "agent")


def control(ami: SuccessfulAmi) -> CallControl:
    tracker = CallTracker()
    tracker.calls[L] = CALL
    return CallControl(ami, tracker, TARGETS, confirm_s=2.0)


async def refused(verb: Awaitable[object]) -> str:
    with pytest.raises(CommandFailed) as failed:
        await verb
    return failed.value.code


async def test_both_apply_before_the_call_is_in_the_rooms() -> None:
    ami = SuccessfulAmi()
    cc = control(ami)
    tracker = cc.tracker
    assert await transfer(ami, PRESENCES, tracker, "agents", cc, BLIND) == {
        "call_id": L, "target": "1002"
    }  # fmt: skip
    assert await hangup(ami, PRESENCES, tracker, cc, HANG_UP) == {"call_id": L}
    assert [name for name, _ in ami.sent] == ["BlindTransfer", "Hangup"]


async def test_no_blind_transfer_in_the_rooms_no_hang_up_during_a_consult() -> None:
    ami = SuccessfulAmi()
    cc = control(ami)
    tracker = cc.tracker
    holding = asyncio.create_task(cc.hold(CALL))
    await _sent(ami, "Redirect")
    await cc.on_event(ConferenceJoined(3.0, L, L, CALL.channel, f"m{L}"))
    await cc.on_event(ConferenceJoined(3.1, L, "a", CALL.agent_channel, f"c{L}"))
    await holding
    sent = len(ami.sent)
    assert await refused(transfer(ami, PRESENCES, tracker, "agents", cc, BLIND)) == "not_now"
    assert len(ami.sent) == sent  # nothing sent to Asterisk
    assert await hangup(ami, PRESENCES, tracker, cc, HANG_UP) == {"call_id": L}  # on hold
    await cc.on_event(ConferenceJoined(3.2, L, "a", CALL.agent_channel, f"m{L}"))  # resumed
    consulting = asyncio.create_task(cc.consult(CALL, "110", "three_way"))
    originate = await _sent(ami, "Originate", "Local/110@")
    dial_id = originate["OtherChannelId"]
    await cc.on_event(DialStarted(3.3, dial_id, dial_id, "Local/110@hotline-consult-1;2",
                                  "PJSIP/trunk-110-primary-00000003", "t"))  # fmt: skip
    await consulting
    sent = len(ami.sent)
    assert await refused(hangup(ami, PRESENCES, tracker, cc, HANG_UP)) == "not_now"
    assert await refused(transfer(ami, PRESENCES, tracker, "agents", cc, BLIND)) == "not_now"
    assert len(ami.sent) == sent
