"""Hold, resume and mute, and the warm transfer and three-party call to someone other than an
emergency line (another agent, a department's duty phone; targets refused), with a real
Asterisk: read back from `ConfbridgeList`, `CoreShowChannels` and the recording."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db.models import AuditEntry, OrderCall
from crm.repo.directory import active_user_at
from hotline_cli.demo.sipp import AgentPhone
from telephony.actions import hang_up
from telephony.call import CallState
from telephony.call_control import ConsultState, ControlCode, Room
from telephony.control_store import ControlFailed
from telephony.dialplan import consult_room, main_room
from tests.e2e import control_support as cs
from tests.e2e.control_support import centre, no_call_left, tones  # noqa: F401  (fixtures)
from tests.e2e.harness import Centre
from tests.support.audio import AGENT_A_HZ, tone_share


async def test_hold_and_resume(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    calling, call = await cs.answered_call(centre, "13900001001", tones)
    await asyncio.sleep(cs.TALK_S)
    holding = time.time()
    st = await control.hold(call)
    held = (holding, time.time())
    assert st.held and st.agent_room is Room.CONSULT
    assert await cs.room(centre, main_room(call.linkedid)) == {call.channel}
    assert await cs.room(centre, consult_room(call.linkedid)) == {call.agent_channel}
    await cs.eventually(lambda: cs.hold_music_in(centre, main_room(call.linkedid)), 5, "hold music")
    with pytest.raises(ControlFailed) as refused:
        await control.hold(call)
    assert refused.value.code is ControlCode.NOT_NOW
    await asyncio.sleep(3.0)
    resuming = time.time()
    st = await control.resume(call)
    resumed = (resuming, time.time())
    assert not st.held and st.agent_room is Room.MAIN
    assert await cs.room(centre, main_room(call.linkedid)) == {call.channel, call.agent_channel}

    async def music_gone() -> bool:
        return not await cs.hold_music_in(centre, main_room(call.linkedid))

    await cs.eventually(music_gone, 5, "the hold music stopped")
    st = await control.mute(call, True)
    muted_at = time.time()  # confirmed by Asterisk
    assert st.muted
    await asyncio.sleep(1.5)
    unmuted_at = time.time()
    st = await control.mute(call, False)
    unmuted = time.time()
    assert not st.muted
    await asyncio.sleep(1.0)
    await hang_up(centre.hotline.ami, call.agent_channel)  # the agent ends the call (挂断)
    assert (await asyncio.wait_for(calling, 10)).ok  # a BYE at once, not hold music for ever
    ended = await centre.log.wait_ended(call.caller_number)
    assert call.channel not in await cs.channels(centre)
    record, _ = await cs.stored(centre, call.linkedid)  # not "caller", the call left its bridge
    assert ended.end_reason == record.end_reason == "hung up by agent"
    heard = await cs.recording_of(centre, ended)
    cs.assert_heard_around_hold(heard, held, resumed)
    muted = heard.during(muted_at + 0.3, unmuted_at - 0.2)
    assert len(muted) > 5 and tone_share(muted, AGENT_A_HZ) == 0
    back = heard.during(unmuted + 0.4, unmuted + 0.9)
    assert tone_share(back, AGENT_A_HZ) > 0.8


async def test_warm_transfer_to_another_agent_and_bad_targets(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    control = centre.hotline.control
    calling, call = await cs.answered_call(centre, "13900001002", tones)
    for target in ("1001", "999", "12345"):  # yourself, nobody, the hotline itself
        with pytest.raises(ControlFailed) as refused:
            await control.consult(call, target, "hold")
        assert refused.value.code is ControlCode.BAD_TARGET
    assert control.state(call.linkedid) is None  # nothing was done
    async with cs.agent_desktop(centre, "1001") as desk_1001:  # what the agent reads: Chinese
        result = await desk_1001.command("consult", target="999", mode="hold")
        assert result["error"] == {"code": "bad_target", "message": "无法转接到 999"}, result
        result = await desk_1001.command("consult_complete")
        assert result["error"] == {"code": "no_consult", "message": "没有进行中的转接"}, result
    presences = centre.hotline.desk.presences
    async with cs.agent_desktop(centre, "1002") as desk_1002:
        st = await control.consult(call, "1002", "hold")  # 1002 is paused: dialled all the same
        st = await cs.until_state(centre, call.linkedid, lambda s: s.consult is not None
                               and s.consult.state is ConsultState.ANSWERED)  # fmt: skip
        assert st.consult is not None and st.consult.attempts[0].leg == "1002"
        st = await control.complete(call)
        together = await cs.room(centre, main_room(call.linkedid))
        assert call.channel in together and len(together) == 2, together
        listed = await cs.channels(centre)
        assert call.agent_channel not in listed
        assert any(name.startswith("PJSIP/1002-") for name in listed)
        # 1002 took the call: on it (its presence, its desk's call update), it gives the
        # call's outcome (its order saved from its own desk); 1001 is done with it.
        assert presences["1002"].state.value == "talking"
        assert presences["1002"].call_id == call.linkedid
        assert presences["1001"].state.value != "talking"  # wrapping it up (or done)
        await desk_1002.wait_for("call_update", call_id=call.linkedid, agent_extension="1002")
        saved = await desk_1002.command(
            "save_order", order={"order_type": "help", "text": "转来的来电，已受理",
                                 "call_id": call.linkedid},
        )  # fmt: skip
        assert saved["ok"], saved
        ended = await cs.end_call(centre, calling, call)
        assert ended.state is CallState.ENDED and ended.outcome_owner == "PJSIP/1002"
        await centre.hotline.ami.action(  # back to the meeting: 1001 takes every call
            "QueuePause", Interface="PJSIP/1002", Paused="true", Reason="会议"
        )
        await cs.eventually(_paused_1002(centre), 10, "1002 paused again")
    async with centre.hotline.sessions() as session:
        link = await session.scalar(select(OrderCall).where(OrderCall.linkedid == call.linkedid))
        assert link is not None and link.order_id == saved["result"]["order_id"]
        first = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == link.order_id).order_by(AuditEntry.id))  # fmt: skip
        user = await active_user_at(session, "1002")
        assert first is not None and user is not None and first.actor_id == user.id


def _paused_1002(where: Centre) -> Callable[[], Awaitable[bool]]:
    async def paused() -> bool:
        return where.hotline.desk.presences["1002"].state.value == "paused"

    return paused


async def test_three_party_call_with_a_department(
    centre: Centre, tones: dict[str, Path]  # noqa: F811
) -> None:
    """A colleague's phone (a department's duty phone) joins the caller and the agent, then
    the agent leaves them together."""
    control = centre.hotline.control
    port = int(str(cs.DEPARTMENT["contact"]).rsplit(":", 1)[1])
    async with AgentPhone(centre.workdir, "127.0.0.1", port, 300, tones["operator"]):
        calling, call = await cs.answered_call(centre, "13900008001", tones)
        await control.consult(call, "8001", "three_way")
        st = await cs.until_state(centre, call.linkedid, lambda s: s.three_party)
        assert st.consult is not None and st.consult.attempts[0].leg == "8001"
        three = await cs.room(centre, main_room(call.linkedid))
        assert {call.channel, call.agent_channel} < three and len(three) == 3, three
        listed = await cs.channels(centre)
        (phone,) = (c for name, c in listed.items() if name.startswith("PJSIP/8001-"))
        # A department is outside the centre: its phone is shown the hotline's number.
        assert phone["ConnectedLineNum"] == "12345", phone
        await control.leave(call)
        listed = await cs.channels(centre)
        assert call.agent_channel not in listed
        assert any(name.startswith("PJSIP/8001-") for name in listed)
        ended = await cs.end_call(centre, calling, call)
    record, _events = await cs.stored(centre, ended.linkedid)
    assert record.emergency_line == "" and record.emergency_started_at is None
