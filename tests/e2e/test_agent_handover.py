"""A call handed from agent to agent, and a caller never left alone in its room, with a real
Asterisk, a SIPp caller and two agent phones sending audio, and real websocket desks.

- A warm transfer from 1001 to 1002, run from 1001's desk: 1002's desk gets the call as one
  it answered (screen pop, the call with its controls), holds and resumes it and hangs up;
  1001's desk is done with it (its commands refused). The caller's channel is then gone
  from Asterisk (`CoreShowChannels`, `ConfbridgeList`), the record keeps both agents.
- The same after 1001 leaves a three-party call with 1002 (1002 mutes itself, hangs up).
- A warm transfer to 110 completed, then 110 hangs up: the caller's line is hung up, not
  left on hold music in an empty room.
- The agent's leg lost while 110 rings, and 110 then failing (no answer, the backup 503):
  the caller goes back into its queue ahead of one already waiting (`QueueStatus`), and the
  next free agent is rung, bridged with it (`CoreShowChannels`' BridgeId) and popped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from crm.domain.calls import CallEventKind
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.actions import hang_up
from telephony.call import Call, CallState
from telephony.call_control import ConsultState, ControlState
from telephony.dialplan import consult_room, main_room
from tests.e2e.control_support import (  # noqa: F401  (the module's centre, its fixtures)
    PORTS,
    agent_desktop,
    answered_call,
    centre,
    channels,
    end_call,
    eventually,
    no_call_left,
    operator,
    room,
    stored,
    tones,
    trunk_channels,
    until_state,
)
from tests.e2e.harness import Centre
from tests.support.trunk_peers import RefusingTrunk

CONSULT_1002 = "Local/1002@hotline-consult-"


def _state(st: ConsultState) -> Callable[[ControlState], bool]:
    return lambda s: s.consult is not None and s.consult.state is st


def _paused(where: Centre, ext: str, reason: str) -> Callable[[], Awaitable[bool]]:
    async def paused() -> bool:
        p = where.hotline.desk.presences[ext]
        return p.state.value == "paused" and p.reason == reason

    return paused


async def _pause(where: Centre, ext: str, on: bool, reason: str = "会议") -> None:
    await where.hotline.ami.action(
        "QueuePause", Interface=f"PJSIP/{ext}", Paused="true" if on else "false", Reason=reason
    )


async def _gone_from_asterisk(where: Centre, call: Call) -> None:
    """Asterisk: the caller's channel hung up and both rooms empty."""

    async def gone() -> bool:
        listed = await channels(where)
        return call.channel not in listed and not await room(where, main_room(call.linkedid))

    await eventually(gone, 10, "the caller's channel gone and its room empty")
    assert await room(where, consult_room(call.linkedid)) == set()


async def test_a_warm_transfer_to_another_agent_hands_it_the_call_and_its_controls(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    presences = centre.hotline.desk.presences
    calling, call = await answered_call(centre, "13900002001", tones)
    async with agent_desktop(centre, "1001") as desk_1001, \
            agent_desktop(centre, "1002") as desk_1002:  # fmt: skip
        asked = await desk_1001.command("consult", target="1002", mode="hold")
        assert asked["ok"], asked
        await until_state(centre, call.linkedid, _state(ConsultState.ANSWERED))
        done = await desk_1001.command("consult_complete")
        assert done["ok"], done
        # 1002's desk: the pop and the call as its own, with the controls that apply.
        pop = await desk_1002.wait_for("screen_pop", call_id=call.linkedid)
        assert pop["caller"]["number"] == "13900002001" and pop["extension"] == "1002"
        assert pop["draft_order"]["call_id"] == call.linkedid
        update = await desk_1002.wait_for("call_update", call_id=call.linkedid,
                                          agent_extension="1002", state="talking")  # fmt: skip
        assert {"hold", "hangup", "consult", "mute"} <= set(update["control"]["allowed"])
        assert presences["1002"].state.value == "talking"
        assert presences["1002"].call_id == call.linkedid
        assert presences["1001"].state.value != "talking"
        refused = await desk_1001.command("hold")  # 1001 is done with the call
        assert not refused["ok"] and refused["error"]["code"] in ("not_your_call", "no_call")
        # Asterisk: caller and 1002's leg together; 1001's channel gone.
        together = await room(centre, main_room(call.linkedid))
        assert call.channel in together and len(together) == 2, together
        taker = next(c for c in together if c != call.channel)
        assert taker.startswith(CONSULT_1002), taker
        assert call.agent_channel not in await channels(centre)
        held = await desk_1002.command("hold")
        assert held["ok"] and held["result"]["control"]["held"], held
        assert await room(centre, main_room(call.linkedid)) == {call.channel}
        assert await room(centre, consult_room(call.linkedid)) == {taker}
        resumed = await desk_1002.command("resume")
        assert resumed["ok"], resumed
        assert await room(centre, main_room(call.linkedid)) == {call.channel, taker}
        hung = await desk_1002.command("hangup")
        assert hung["ok"], hung
        await _gone_from_asterisk(centre, call)
        assert (await calling).ok  # the SIPp caller saw a clean end
        ended = await centre.log.wait_ended(call.caller_number)
        assert ended.state is CallState.ENDED and ended.end_reason == "hung up by agent"
        assert ended.outcome_owner == "PJSIP/1002"
        await desk_1002.wait_for("call_update", call_id=call.linkedid, state="ended")
        await desk_1002.wait_for("presence", extension="1002", state="wrap_up")
        order = {"order_type": "help", "text": "转来的来电，话后补记", "call_id": call.linkedid}
        saved = await desk_1002.command("save_order", order=order)
        assert saved["ok"], saved
    await _pause(centre, "1002", True)  # back to the meeting (the wrap-up lifted the pause)
    await eventually(_paused(centre, "1002", "会议"), 10, "1002 paused again")
    record, events = await stored(centre, call.linkedid)
    assert record.agent_extension == "1001"  # who answered it
    taken = [e for e in events if e.kind is CallEventKind.ANSWERED and e.agent == "1002"]
    assert len(taken) == 1 and taken[0].detail["after_transfer"], events
    # 1001 held the caller for its consult; 1002 held and resumed the call it was handed.
    assert [e.agent for e in events if e.kind is CallEventKind.HELD] == ["1001", "1002"]
    assert [e.agent for e in events if e.kind is CallEventKind.RESUMED] == ["1002"]


async def test_leaving_a_three_party_call_with_another_agent_hands_it_the_call(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    calling, call = await answered_call(centre, "13900002005", tones)
    async with agent_desktop(centre, "1001") as desk_1001, \
            agent_desktop(centre, "1002") as desk_1002:  # fmt: skip
        asked = await desk_1001.command("consult", target="1002", mode="three_way")
        assert asked["ok"], asked
        await until_state(centre, call.linkedid, _state(ConsultState.THREE_WAY))
        assert len(await room(centre, main_room(call.linkedid))) == 3  # caller, 1001, 1002
        left = await desk_1001.command("leave")
        assert left["ok"], left
        await desk_1002.wait_for("screen_pop", call_id=call.linkedid)
        update = await desk_1002.wait_for("call_update", call_id=call.linkedid,
                                          agent_extension="1002", state="talking")  # fmt: skip
        assert "hangup" in update["control"]["allowed"]
        together = await room(centre, main_room(call.linkedid))
        assert call.channel in together and len(together) == 2, together
        assert any(c.startswith(CONSULT_1002) for c in together), together
        muted = await desk_1002.command("mute")
        assert muted["ok"] and muted["result"]["control"]["muted"], muted
        hung = await desk_1002.command("hangup")
        assert hung["ok"], hung
        await _gone_from_asterisk(centre, call)
        assert (await calling).ok
        ended = await centre.log.wait_ended(call.caller_number)
        assert ended.end_reason == "hung up by agent" and ended.outcome_owner == "PJSIP/1002"
    await _pause(centre, "1002", True)  # back to the meeting (the wrap-up lifted the pause)
    await eventually(_paused(centre, "1002", "会议"), 10, "1002 paused again")


async def test_110_hanging_up_after_a_completed_transfer_ends_the_call(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    async with operator(centre, "110", 0, tones):
        calling, call = await answered_call(centre, "13900002002", tones)
        await control.consult(call, "110", "hold")
        await until_state(centre, call.linkedid, _state(ConsultState.ANSWERED))
        await control.complete(call)
        together = await room(centre, main_room(call.linkedid))
        assert call.channel in together and len(together) == 2, together
        leg = next(name for name in await channels(centre) if name.startswith("PJSIP/trunk-110-"))
        await hang_up(centre.hotline.ami, leg)  # the operator hangs up
        await _gone_from_asterisk(centre, call)
        assert (await calling).ok
        ended = await centre.log.wait_ended(call.caller_number)
    assert ended.end_reason == "hung up by transfer target 110"
    record, _ = await stored(centre, call.linkedid)
    assert record.end_reason == "hung up by transfer target 110"


async def _queue_entries(where: Centre) -> dict[str, int]:
    """The callers Asterisk has waiting in a queue: channel → position."""
    listed = await where.hotline.ami.action_list("QueueStatus")
    return {e["Channel"]: int(e["Position"]) for e in listed if e.get("Event") == "QueueEntry"}


async def test_the_agent_lost_and_110_failing_puts_the_caller_back_first_in_its_queue(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    # 110's primary rings past its dial timeout; the backup refuses (503).
    async with operator(centre, "110", 0, tones, ring_ms=60_000), \
            RefusingTrunk(centre.workdir, "127.0.0.1", PORTS["110"][1]):  # fmt: skip
        calling, call = await answered_call(centre, "13900002003", tones)
        await control.consult(call, "110", "hold")

        async def ringing() -> bool:
            return trunk_channels(await channels(centre), "110") == {"primary": "Ringing"}

        await eventually(ringing, 5, "110's primary ringing")
        started = time.time()
        await hang_up(centre.hotline.ami, call.agent_channel)  # the agent's line drops
        await until_state(centre, call.linkedid, lambda s: not s.agent_in_call)
        # 1001 wraps up (0.5 s), then goes to a meeting too: nobody free for a moment.
        await eventually(lambda: _available(centre, "1001"), 10, "1001 free again")
        await _pause(centre, "1001", True)
        await eventually(_paused(centre, "1001", "会议"), 10, "1001 paused")
        plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=90_000,
                          audio=tones["caller"])  # fmt: skip
        other = asyncio.create_task(
            centre.call([CallerIdentity("等待", "13900002004")], plan, 120)
        )
        waiting = await centre.log.wait_for(
            lambda e: e.call.caller_number == "13900002004" and e.call.state is CallState.QUEUED,
            30,
        )
        back = await centre.log.wait_for(
            lambda e: e.call.linkedid == call.linkedid and e.call.state is CallState.QUEUED
            and e.previous is CallState.TALKING, 30,
        )  # fmt: skip
        assert back.call.queued_at is not None and back.call.queued_at > started
        # Asterisk: the caller out of its room, waiting first, ahead of the other caller.
        entries = await _queue_entries(centre)
        assert entries.get(call.channel) == 1 and entries.get(waiting.call.channel) == 2, entries
        assert await room(centre, main_room(call.linkedid)) == set()
        # The other caller gives up (app_queue's autofill would let it race the first for
        # the agent who frees up: each caller's thread tries in turn).
        await hang_up(centre.hotline.ami, waiting.call.channel)
        await other
        async with agent_desktop(centre, "1001") as desk_1001:
            await _pause(centre, "1001", False)  # free: the first in the queue is rung
            pop = await desk_1001.wait_for("screen_pop", call_id=call.linkedid, timeout=30)
            assert pop["caller"]["number"] == "13900002003"
            talking = await centre.log.wait_for(
                lambda e: e.call.linkedid == call.linkedid and e.call.state is CallState.TALKING
                and e.call.answered_at is not None and e.call.answered_at > started, 30,
            )  # fmt: skip
            leg = talking.call.agent_channel
            assert leg.startswith("PJSIP/1001-") and leg != call.agent_channel

            async def bridged() -> bool:  # Asterisk: the caller and 1001's new leg bridged
                listed = await channels(centre)
                bridge = listed.get(call.channel, {}).get("BridgeId", "")
                return bool(bridge) and listed.get(leg, {}).get("BridgeId") == bridge

            await eventually(bridged, 10, "the caller bridged with 1001 again")
            held = await desk_1001.command("hold")  # a fresh call under control
            assert held["ok"], held
            await end_call(centre, calling, talking.call)
    _record, events = await stored(centre, call.linkedid)
    kinds = [e.kind for e in events]
    assert kinds.count(CallEventKind.QUEUED) == 2 and CallEventKind.CONSULT_FAILED in kinds


async def _available(where: Centre, ext: str) -> bool:
    return where.hotline.desk.presences[ext].state.value == "available"

