"""Warm transfer to 110 with a real Asterisk: a SIPp caller, the agent's SIPp phone and a
SIPp UAS per trunk leg, each speaking its own tone. Every outcome is read back from Asterisk
itself (`ConfbridgeList` of the call's rooms, `CoreShowChannels`) and from the recording it
wrote, not only from our own state: the transfer completed, cancelled (while 110 talks and
while it still rings), the three-party call and the agent leaving it, the caller hanging up
during the consult."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from crm.domain.calls import CallEventKind, CallOutcome
from telephony.call import CallState
from telephony.call_control import ConsultState, Room
from telephony.dialplan import consult_room, main_room
from tests.e2e import control_support as cs
from tests.e2e.control_support import centre, no_call_left, tones  # noqa: F401  (fixtures)
from tests.e2e.harness import Centre
from tests.support.audio import AGENT_A_HZ, tone_share


async def test_warm_transfer_to_110_completed(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    async with cs.call_with_operator(centre, tones, "13900001101", "110") as (calling, call):
        consulted, st = await cs.consulted(centre, call, "110")
        assert st.consult is not None and st.consult.attempts[0].leg == "primary"
        assert st.held and st.agent_room is Room.CONSULT
        # Asterisk: the caller alone in the main room (hold music), the agent with 110.
        assert await cs.room(centre, main_room(call.linkedid)) == {call.channel}
        consulting = await cs.room(centre, consult_room(call.linkedid))
        assert call.agent_channel in consulting and len(consulting) == 2, consulting
        await asyncio.sleep(cs.HOLD_S)
        completing = time.time()
        st = await centre.hotline.control.complete(call)
        completed = (completing, time.time())
        assert st.consult is not None and st.consult.state is ConsultState.COMPLETED
        assert not st.agent_in_call
        # Asterisk: caller and the operator's leg together, the agent's channel gone.
        listed = await cs.channels(centre)
        assert call.agent_channel not in listed
        assert cs.trunk_channels(listed, "110") == {"primary": "Up"}
        together = await cs.room(centre, main_room(call.linkedid))
        assert call.channel in together and len(together) == 2, together
        assert await cs.room(centre, consult_room(call.linkedid)) == set()
        await asyncio.sleep(cs.AFTER_S)
        ended = await cs.end_call(centre, calling, call)
    heard = await cs.recording_of(centre, ended)
    # While on hold the caller hears the hold music: neither agent nor operator.
    cs.assert_heard_around_hold(heard, consulted, completed, then=cs.OPERATOR_HZ)
    record, events = await cs.stored(centre, call.linkedid)
    assert record.outcome is CallOutcome.EMERGENCY and record.emergency_line == "110"
    assert record.emergency_started_at is not None and record.answered_at is not None
    assert abs((record.emergency_started_at - record.answered_at).total_seconds()
               - (consulted[0] - heard.answered_at)) < 0.5  # fmt: skip
    kinds = [e.kind for e in events]
    steps = [k for k in kinds if k not in (CallEventKind.QUEUED, CallEventKind.RINGING)]
    assert steps == [
        CallEventKind.ANSWERED, CallEventKind.HELD, CallEventKind.CONSULT_STARTED,
        CallEventKind.TRUNK_ATTEMPT, CallEventKind.CONSULT_ANSWERED,
        CallEventKind.TRANSFERRED, CallEventKind.PARTY_LEFT, CallEventKind.ENDED,
    ], kinds  # fmt: skip
    attempt = events[kinds.index(CallEventKind.TRUNK_ATTEMPT)].detail
    assert attempt["line"] == "110" and attempt["leg"] == "primary"
    assert attempt["status"] == "ANSWER" and attempt["ms"] >= 250  # the far end rang 300 ms
    transferred = events[kinds.index(CallEventKind.TRANSFERRED)]
    assert transferred.agent == "1001" and transferred.detail["kind"] == "warm"


async def test_warm_transfer_cancelled(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    async with cs.call_with_operator(centre, tones, "13900001102", "110") as (calling, call):
        consulted, _ = await cs.consulted(centre, call, "110")
        await asyncio.sleep(cs.HOLD_S)
        cancelling = time.time()
        st = await centre.hotline.control.cancel(call)
        cancelled = (cancelling, time.time())
        assert st.consult is not None and st.consult.state is ConsultState.CANCELLED
        assert st.agent_room is Room.MAIN and not st.held
        # Asterisk: agent back with the caller, no trunk leg left.
        both = {call.channel, call.agent_channel}
        assert await cs.room(centre, main_room(call.linkedid)) == both
        await cs.eventually(lambda: cs.no_trunk(centre, "110"), 5, "110's leg hung up")
        assert call.agent_channel in await cs.channels(centre)
        await asyncio.sleep(cs.AFTER_S)
        ended = await cs.end_call(centre, calling, call)
    assert ended.state is CallState.ENDED
    record, _ = await cs.stored(centre, call.linkedid)  # the caller hung up, not the agent
    assert ended.end_reason == record.end_reason == "hung up by caller"
    heard = await cs.recording_of(centre, ended)
    cs.assert_heard_around_hold(heard, consulted, cancelled, then=AGENT_A_HZ)


async def test_three_party_call_and_the_agent_leaving_it(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    async with cs.call_with_operator(centre, tones, "13900001103", "110") as (calling, call):
        await control.consult(call, "110", "three_way")
        st = await cs.until_state(centre, call.linkedid, lambda s: s.three_party)
        assert not st.held and st.agent_room is Room.MAIN
        three = await cs.room(centre, main_room(call.linkedid))
        assert {call.channel, call.agent_channel} < three and len(three) == 3, three
        await asyncio.sleep(cs.TALK_S)  # the three of them talk
        left_at = time.time()
        st = await control.leave(call)
        assert not st.agent_in_call
        assert st.consult is not None and st.consult.state is ConsultState.COMPLETED
        listed = await cs.channels(centre)
        assert call.agent_channel not in listed
        assert cs.trunk_channels(listed, "110") == {"primary": "Up"}
        two = await cs.room(centre, main_room(call.linkedid))
        assert call.channel in two and len(two) == 2, two
        await asyncio.sleep(cs.AFTER_S)
        ended = await cs.end_call(centre, calling, call)
    heard = await cs.recording_of(centre, ended)
    before = heard.during(left_at - 1.2, left_at - 0.2)  # the three of them
    assert tone_share(before, AGENT_A_HZ) > 0.5 and tone_share(before, cs.OPERATOR_HZ) > 0.5
    cs.assert_talking(heard.during(left_at + 0.5, left_at + cs.AFTER_S), cs.OPERATOR_HZ)


async def test_a_consult_cancelled_while_the_trunk_rings(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    async with cs.operator(centre, "120", 0, tones, ring_ms=60_000):
        calling, call = await cs.answered_call(centre, "13900001202", tones)
        await asyncio.sleep(cs.TALK_S)
        consulting = time.time()
        st = await control.consult(call, "120", "hold")
        consulted = (consulting, time.time())
        assert st.consult is not None and st.consult.state is ConsultState.RINGING
        assert st.consult.attempts[0].leg == "primary"  # its INVITE is out (DialBegin)

        async def ringing() -> bool:  # then the far end's 180
            return cs.trunk_channels(await cs.channels(centre), "120") == {"primary": "Ringing"}

        await cs.eventually(ringing, 5, "120's primary ringing")
        await asyncio.sleep(cs.HOLD_S)  # the caller holds while 120 rings
        cancelling = time.time()
        st = await control.cancel(call)
        cancelled = (cancelling, time.time())
        assert st.consult is not None and st.consult.state is ConsultState.CANCELLED
        assert st.consult.answered_at is None and st.agent_room is Room.MAIN
        both = {call.channel, call.agent_channel}
        assert await cs.room(centre, main_room(call.linkedid)) == both
        await cs.eventually(lambda: cs.no_trunk(centre, "120"), 5, "120's ringing leg cancelled")
        await asyncio.sleep(cs.AFTER_S)
        ended = await cs.end_call(centre, calling, call)
    assert ended.state is CallState.ENDED
    heard = await cs.recording_of(centre, ended)
    cs.assert_heard_around_hold(heard, consulted, cancelled, then=AGENT_A_HZ)
    assert tone_share(heard.frames, cs.OPERATOR_HZ) == 0  # 120 never answered


async def test_the_caller_hanging_up_during_a_consult_ends_it(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    """The caller hangs up while the agent still talks to 110 in the consult room: the
    backend hangs up the consult room too (nobody is left talking for ever)."""
    async with cs.call_with_operator(centre, tones, "13900001104", "110") as (calling, call):
        consulted, _ = await cs.consulted(centre, call, "110")
        await asyncio.sleep(cs.HOLD_S)  # the caller holds, then gives up
        hanging_up = time.time()
        ended = await cs.end_call(centre, calling, call)
        await cs.eventually(lambda: cs.no_trunk(centre, "110"), 5, "110's leg hung up")

        async def agent_gone() -> bool:
            return call.agent_channel not in await cs.channels(centre)

        await cs.eventually(agent_gone, 5, "the agent's leg hung up")
    assert ended.state is CallState.ENDED
    heard = await cs.recording_of(centre, ended)
    cs.assert_heard_around_hold(heard, consulted, (hanging_up, hanging_up))
