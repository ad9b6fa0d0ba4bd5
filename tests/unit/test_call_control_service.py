"""CallControl's adapter rules that need no Asterisk: it trusts events, not "Success"."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable

import pytest

from telephony.ami_connection import AmiActionError
from telephony.call import Call, CallState
from telephony.call_control import ConsultState, ControlCode, ControlState, Room, TargetKind
from telephony.call_control_service import CallControl
from telephony.call_targets import Target
from telephony.control_store import ControlFailed
from telephony.events import (
    ChannelHungUp,
    ConferenceJoined,
    ConferenceLeft,
    DialFailed,
    DialStarted,
    QueueMembersListed,
)
from telephony.tracker import CallTracker

L = "1700000000.1"
CALL = Call(L, L, "PJSIP/carrier-00000001", "13900000000", "周到", 1.0,
            state=CallState.TALKING, answered_at=2.0, agent_interface="PJSIP/1001",
            agent_channel="PJSIP/1001-00000002")  # fmt: skip
TARGETS = {"110": Target("110", TargetKind.EMERGENCY, "110"),
           "1001": Target("1001", TargetKind.AGENT, "")}  # fmt: skip


class SuccessfulAmi:
    """An Asterisk that answers Success to everything (the agent's leg is bridged)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []
        self.lists: dict[str, list[dict[str, str]]] = {}  # action (or room) → its items

    async def action(self, name: str, timeout: float = 10.0, **headers: str) -> dict[str, str]:
        self.sent.append((name, headers))
        return {"Response": "Success", "Value": "PJSIP/carrier-00000001"}

    async def action_list(
        self, name: str, timeout: float = 10.0, **headers: str
    ) -> list[dict[str, str]]:
        self.sent.append((name, headers))
        return self.lists.get(headers.get("Conference", name), [])


def control(ami: SuccessfulAmi) -> CallControl:
    tracker = CallTracker()
    tracker.calls[L] = CALL
    return CallControl(ami, tracker, TARGETS, confirm_s=0.3)


async def test_success_without_the_events_is_not_confirmed() -> None:
    ami = SuccessfulAmi()
    with pytest.raises(ControlFailed) as failed:
        await control(ami).hold(CALL)
    assert failed.value.code is ControlCode.NOT_CONFIRMED
    redirect = [h for name, h in ami.sent if name == "Redirect"]
    assert redirect == [{
        "Channel": CALL.channel, "Context": "hotline-room-caller", "Exten": L, "Priority": "1",
        "ExtraChannel": CALL.agent_channel, "ExtraContext": "hotline-room-consult",
        "ExtraExten": L, "ExtraPriority": "1",
    }]  # fmt: skip


async def test_hold_confirmed_by_both_joins() -> None:
    ami = SuccessfulAmi()
    cc = control(ami)
    seen = []

    async def listener(st: object, call: Call) -> None:
        seen.append(st)

    cc.add_listener(listener)
    holding = asyncio.create_task(cc.hold(CALL))
    await _sent(ami, "Redirect")
    await cc.on_event(ConferenceJoined(3.0, L, L, CALL.channel, f"m{L}"))
    assert not await _finishes(holding)  # the caller's join alone confirms nothing
    await cc.on_event(ConferenceJoined(3.1, L, "a", CALL.agent_channel, f"c{L}"))
    st = await holding
    assert st.held and st.agent_room is Room.CONSULT and st.changed_at == 3.1
    assert len(seen) == 2 and cc.state(L) == st


async def test_refusals_send_nothing() -> None:
    ami = SuccessfulAmi()
    cc = control(ami)
    for target in ("1001", "119", ""):  # yourself, a line not configured, nothing
        with pytest.raises(ControlFailed) as bad:
            await cc.consult(CALL, target, "hold")
        assert bad.value.code is ControlCode.BAD_TARGET
    ringing = dataclasses.replace(CALL, state=CallState.RINGING)
    with pytest.raises(ControlFailed) as early:
        await cc.hold(ringing)
    assert early.value.code is ControlCode.NOT_NOW
    for command in (cc.complete, cc.cancel, cc.three_way, cc.leave):
        with pytest.raises(ControlFailed) as none:
            await command(CALL)
        assert none.value.code is ControlCode.NO_CONSULT
    assert ami.sent == []
    with pytest.raises(ControlFailed) as resume:
        await cc.resume(CALL)
    assert resume.value.code is ControlCode.NOT_NOW


async def test_consult_returns_once_a_leg_is_dialled() -> None:
    ami = SuccessfulAmi()
    cc = control(ami)
    cc.confirm_s = 2.0
    consulting = asyncio.create_task(cc.consult(CALL, "110", "three_way"))
    await _sent(ami, "Redirect")
    await cc.on_event(ConferenceJoined(3.0, L, L, CALL.channel, f"m{L}"))
    await cc.on_event(ConferenceJoined(3.0, L, "a", CALL.agent_channel, f"m{L}"))
    originate = await _sent(ami, "Originate", "Local/110@")
    assert originate["Channel"] == "Local/110@hotline-consult/n"
    assert (originate["Context"], originate["Exten"]) == ("hotline-room-party", L)
    dial_id = originate["OtherChannelId"]
    assert dial_id == originate["ChannelId"] + "-2"
    assert not await _finishes(consulting)  # dialled, not yet ringing
    await cc.on_event(DialStarted(3.2, dial_id, dial_id, "Local/110@hotline-consult-1;2",
                                  "PJSIP/trunk-110-primary-00000003", "t"))  # fmt: skip
    st = await consulting
    assert st.consult is not None and st.consult.state is ConsultState.RINGING
    with pytest.raises(ControlFailed) as again:  # one consult at a time
        await cc.consult(CALL, "110", "hold")
    assert again.value.code is ControlCode.NOT_NOW


class RefusingOriginate(SuccessfulAmi):
    async def action(self, name: str, timeout: float = 10.0, **headers: str) -> dict[str, str]:
        if name == "Originate":
            self.sent.append((name, headers))
            raise AmiActionError("Originate", {"Message": "Originate failed"})
        return await super().action(name, timeout, **headers)


async def test_a_consult_that_never_starts_brings_the_agent_back() -> None:
    ami = RefusingOriginate()
    cc = control(ami)
    cc.confirm_s = 2.0
    consulting = asyncio.create_task(cc.consult(CALL, "110", "hold"))
    await _sent(ami, "Redirect")
    await cc.on_event(ConferenceJoined(3.0, L, L, CALL.channel, f"m{L}"))
    await cc.on_event(ConferenceJoined(3.0, L, "a", CALL.agent_channel, f"c{L}"))
    with pytest.raises(ControlFailed) as failed:
        await consulting
    assert failed.value.code is ControlCode.NOT_CONFIRMED
    back = ("Redirect", {"Channel": CALL.agent_channel, "Context": "hotline-room-party",
                         "Exten": L, "Priority": "1"})  # fmt: skip
    await _until(lambda: ami.sent[-1] == back, "the agent sent back")  # by a follow-up task
    st = cc.state(L)
    assert st is not None and st.consult is not None and st.consult.state is ConsultState.FAILED


async def test_a_resync_forgets_calls_asterisk_no_longer_has() -> None:
    ami = SuccessfulAmi()
    cc = control(ami)
    holding = asyncio.create_task(cc.hold(CALL))
    await _sent(ami, "Redirect")
    await cc.on_event(ConferenceJoined(3.0, L, L, CALL.channel, f"m{L}"))
    await cc.on_event(ConferenceJoined(3.1, L, "a", CALL.agent_channel, f"c{L}"))
    await holding
    await cc.on_event(QueueMembersListed(4.0, ()))
    assert cc.state(L) is not None  # still in the tracker: kept
    cc.tracker.calls.clear()
    await cc.on_event(QueueMembersListed(5.0, ()))
    assert cc.state(L) is None


def _listed(channel: str, uniqueid: str) -> dict[str, str]:
    return {"Event": "CoreShowChannel", "Channel": channel, "Uniqueid": uniqueid,
            "Linkedid": L, "Context": "hotline-room-party"}  # fmt: skip


async def test_a_call_on_hold_found_again_after_a_restart_can_be_resumed() -> None:
    """A backend that never saw the hold (restarted meanwhile) reads the rooms back from
    Asterisk on the re-sync, routes the channels' events to the call and can resume it."""
    ami = SuccessfulAmi()
    cc = control(ami)
    player = f"Local/{L}@hotline-hold-music-00000009;1"
    ami.lists = {
        f"m{L}": [{"Event": "ConfbridgeList", "Conference": f"m{L}", "Channel": c}
                  for c in (CALL.channel, player)],
        f"c{L}": [{"Event": "ConfbridgeList", "Conference": f"c{L}",
                   "Channel": CALL.agent_channel}],
        "CoreShowChannels": [_listed(CALL.channel, L), _listed(CALL.agent_channel, "a"),
                             _listed(player, "moh-1")],
    }  # fmt: skip
    with pytest.raises(ControlFailed):  # before the re-sync, the hold is unknown
        await cc.resume(CALL)
    await cc.on_event(QueueMembersListed(4.0, ()))
    st = cc.state(L)
    assert st is not None and st.held and st.agent_room is Room.CONSULT
    resuming = asyncio.create_task(cc.resume(CALL))
    resume = await _sent(ami, "Redirect")
    assert resume == {"Channel": CALL.agent_channel, "Context": "hotline-room-party",
                      "Exten": L, "Priority": "1"}  # fmt: skip
    await cc.on_event(ConferenceLeft(4.1, L, "a", CALL.agent_channel, f"c{L}"))
    await cc.on_event(ConferenceJoined(4.2, L, "a", CALL.agent_channel, f"m{L}"))
    st = await resuming
    assert not st.held and st.agent_room is Room.MAIN
    stop = (await _sent(ami, "Hangup"))["Channel"]  # by a follow-up task
    assert len([n for n, _ in ami.sent if n == "Hangup"]) == 1
    assert stop.startswith("/") and stop.endswith("/")
    assert re.match(stop[1:-1], player)  # the player Asterisk had: stopped


async def test_a_leg_still_ringing_when_the_caller_hangs_up_is_closed_and_recorded() -> None:
    ami = SuccessfulAmi()
    cc = control(ami)
    cc.confirm_s = 2.0
    seen: list[ControlState] = []

    async def listener(st: ControlState, call: Call) -> None:
        seen.append(st)

    cc.add_listener(listener)
    consulting = asyncio.create_task(cc.consult(CALL, "110", "hold"))
    await _sent(ami, "Redirect")
    await cc.on_event(ConferenceJoined(3.0, L, L, CALL.channel, f"m{L}"))
    await cc.on_event(ConferenceJoined(3.0, L, "a", CALL.agent_channel, f"c{L}"))
    originate = await _sent(ami, "Originate", "Local/110@")
    dial_id = originate["OtherChannelId"]
    await cc.on_event(DialStarted(3.2, dial_id, dial_id, "Local/110@hotline-consult-1;2",
                                  "PJSIP/trunk-110-primary-00000003", "t"))  # fmt: skip
    await consulting
    await cc.on_event(ChannelHungUp(9.5, L, L, CALL.channel, 16, "Normal Clearing"))
    last = seen[-1]
    assert last.ended and cc.state(L) is None
    assert last.consult is not None and last.consult.state is ConsultState.CANCELLED
    assert last.consult.reason == "hung_up"
    assert [(a.leg, a.status, a.ended_at) for a in last.consult.attempts] == [
        ("primary", "CANCEL", 9.5)
    ]
    # The leg's own DialEnd (CANCEL) comes once the call's keys are gone: it changes nothing.
    await cc.on_event(DialFailed(9.6, dial_id, dial_id, "Local/110@hotline-consult-1;2",
                                 "PJSIP/trunk-110-primary-00000003", "CANCEL"))  # fmt: skip
    assert seen[-1] is last


async def _sent(ami: SuccessfulAmi, name: str, channel: str = "") -> dict[str, str]:
    """The headers of the last action `name` (on a channel starting with `channel`) sent,
    once one is (polled with a deadline): the hold-music player is originated too."""

    def found() -> list[dict[str, str]]:
        return [h for n, h in ami.sent if n == name and h.get("Channel", "").startswith(channel)]

    await _until(lambda: bool(found()), f"{name} {channel} sent")
    return found()[-1]


async def _until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll `check` until it holds, failing after `timeout` (generous: a loaded machine)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.005)


async def _finishes(task: asyncio.Task[ControlState]) -> bool:
    """Whether `task` finishes once given the time to (explicitly bounded: waiting for
    something not to happen needs a window)."""
    done, _ = await asyncio.wait({task}, timeout=0.2)
    return bool(done)
