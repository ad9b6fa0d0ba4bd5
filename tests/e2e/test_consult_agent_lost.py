"""A party lost during a consult, with a real Asterisk. The agent's leg (its handset put
down, its line dropped): the caller is never dropped with it. With 110 answered the caller
and 110 are left together (as complete does); while 110 still rings the caller holds (hold
music) and gets 110 when it answers. Checked in Asterisk's `ConfbridgeList` and `CoreShowChannels`.
The desk's hang-up is refused meanwhile (tests/unit/desk/test_hangup_and_transfer_verbs.py).
The caller hanging up while 110 rings: the ringing attempt and the consult's end are stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from crm.domain.calls import CallEventKind, CallOutcome
from telephony.actions import hang_up
from telephony.call import Call
from telephony.call_control import ConsultState, ControlState
from telephony.dialplan import consult_room, main_room
from tests.e2e.control_support import (  # noqa: F401  (the module's centre, its fixtures)
    answered_call,
    centre,
    channels,
    end_call,
    eventually,
    hold_music_in,
    no_call_left,
    operator,
    room,
    stored,
    tones,
    trunk_channels,
    until_state,
)
from tests.e2e.harness import Centre


def _state(st: ConsultState) -> Callable[[ControlState], bool]:
    return lambda s: s.consult is not None and s.consult.state is st


async def _caller_with_110(where: Centre, call: Call) -> None:
    """Asterisk: the caller and 110's leg together in the main room, nobody else."""

    async def together() -> bool:
        members = await room(where, main_room(call.linkedid))
        return call.channel in members and len(members) == 2

    await eventually(together, 10, "caller and 110 together in the main room")


async def test_the_agent_hanging_up_with_110_answered_leaves_caller_and_110_together(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    async with operator(centre, "110", 0, tones):
        calling, call = await answered_call(centre, "13900001111", tones)
        await control.consult(call, "110", "hold")
        await until_state(centre, call.linkedid, _state(ConsultState.ANSWERED))
        assert await room(centre, main_room(call.linkedid)) == {call.channel}
        await hang_up(centre.hotline.ami, call.agent_channel)  # the agent's handset down
        st = await until_state(centre, call.linkedid, _state(ConsultState.COMPLETED))
        assert not st.agent_in_call
        await _caller_with_110(centre, call)
        listed = await channels(centre)
        assert call.channel in listed and call.agent_channel not in listed
        assert trunk_channels(listed, "110") == {"primary": "Up"}
        assert await room(centre, consult_room(call.linkedid)) == set()
        await asyncio.sleep(1.0)  # still together a moment later: nobody hung up the caller
        assert call.channel in await room(centre, main_room(call.linkedid))
        await end_call(centre, calling, call)
    record, _events = await stored(centre, call.linkedid)
    assert record.outcome is CallOutcome.EMERGENCY and record.emergency_line == "110"


async def test_the_agent_lost_while_110_rings_keeps_the_caller_until_110_answers(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    # 110's primary rings past its dial timeout; the backup answers.
    async with operator(centre, "110", 0, tones, ring_ms=60_000), operator(centre, "110", 1, tones):
        calling, call = await answered_call(centre, "13900001112", tones)
        await control.consult(call, "110", "hold")

        async def ringing() -> bool:
            return trunk_channels(await channels(centre), "110") == {"primary": "Ringing"}

        await eventually(ringing, 5, "110's primary ringing")
        await hang_up(centre.hotline.ami, call.agent_channel)
        gone: ControlState = await until_state(centre, call.linkedid, lambda s: not s.agent_in_call)
        assert gone.consult is not None and gone.consult.state is ConsultState.RINGING
        # Asterisk: the caller kept, alone in its room with the hold music, 110 still ringing.
        assert await room(centre, main_room(call.linkedid)) == {call.channel}
        await eventually(lambda: hold_music_in(centre, main_room(call.linkedid)), 5,
                         "hold music for the caller")  # fmt: skip
        assert trunk_channels(await channels(centre), "110") == {"primary": "Ringing"}
        st = await until_state(centre, call.linkedid, _state(ConsultState.COMPLETED))
        assert st.consult is not None
        assert [(a.leg, a.status) for a in st.consult.attempts] == [
            ("primary", "NOANSWER"), ("backup", "ANSWER")
        ]  # fmt: skip
        await _caller_with_110(centre, call)
        assert trunk_channels(await channels(centre), "110") == {"backup": "Up"}
        await end_call(centre, calling, call)
    record, events = await stored(centre, call.linkedid)
    assert record.outcome is CallOutcome.EMERGENCY and record.emergency_line == "110"
    assert CallEventKind.CONSULT_ANSWERED in [e.kind for e in events]


async def test_the_caller_hanging_up_while_110_rings_stores_the_attempt_and_the_end(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    async with operator(centre, "110", 0, tones, ring_ms=60_000):
        calling, call = await answered_call(centre, "13900001113", tones)
        await control.consult(call, "110", "hold")

        async def ringing() -> bool:
            return trunk_channels(await channels(centre), "110") == {"primary": "Ringing"}

        await eventually(ringing, 5, "110's primary ringing")
        await end_call(centre, calling, call)  # the caller gives up while 110 rings

        async def no_leg() -> bool:  # Asterisk cancelled the ringing leg
            return not trunk_channels(await channels(centre), "110")

        await eventually(no_leg, 5, "110's leg gone")
    _record, events = await stored(centre, call.linkedid)
    attempts = [e.detail for e in events if e.kind is CallEventKind.TRUNK_ATTEMPT]
    assert [(a["leg"], a["status"]) for a in attempts] == [("primary", "CANCEL")], attempts
    ended = [e.detail for e in events if e.kind is CallEventKind.CONSULT_CANCELLED]
    assert [e["reason"] for e in ended] == ["hung_up"]
