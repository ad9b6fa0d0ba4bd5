"""Call control with a real Asterisk: a SIPp caller, the agent's SIPp phone and a SIPp UAS
per trunk leg, each speaking its own tone. Every outcome is read back from Asterisk itself
(`ConfbridgeList` of the call's rooms, `CoreShowChannels`) and from the recording Asterisk
wrote, not only from our own state: warm transfer to 110 completed and cancelled, the
three-party call and the agent leaving it, 119's primary answering 503, 120's primary not
answering (failover after dial_timeout_s), both trunks down, hold and resume."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from crm.db.call_models import CallEvent, CallRecord
from crm.db.models import AuditEntry, OrderCall
from crm.domain.calls import CallEventKind, CallOutcome
from crm.domain.enums import Role
from crm.repo.directory import active_user_at
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, CallerResult
from telephony.actions import hang_up
from telephony.ami_connection import AmiActionError
from telephony.call_control import ConsultState, ControlCode, ControlState, Room
from telephony.control_store import ControlFailed
from telephony.dialplan import consult_room, main_room
from telephony.tracker import Call, CallState
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.e2e.test_desktop import Desktop
from tests.support.audio import (
    AGENT_A_HZ,
    AGENT_B_HZ,
    CALLER_HZ,
    Window,
    between,
    read_wav,
    tone_pcap,
    tone_share,
    wav_finished,
    windows,
)
from tests.support.trunk_peers import RefusingTrunk

DIAL_TIMEOUT_S = 3
PORTS = {line: (free_udp_port(), free_udp_port()) for line in ("110", "119", "120")}
SPEAK_S = 60.0
OPERATOR_HZ = AGENT_B_HZ  # every trunk's far end speaks this tone
DEPARTMENT = {"extension": "8001", "name": "市水务局值班室", "kind": "department",
              "contact": f"sip:8001@127.0.0.1:{free_udp_port()}"}  # fmt: skip
MOH_HZ = 523.0  # the hold music's chime (hotline_cli/sounds.py): 0.6 s every 2 s


@pytest.fixture(scope="module")
async def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tones")
    return {
        "caller": tone_pcap(d / "caller.pcap", CALLER_HZ, SPEAK_S),
        "agent": tone_pcap(d / "agent.pcap", AGENT_A_HZ, SPEAK_S),
        "operator": tone_pcap(d / "operator.pcap", OPERATOR_HZ, SPEAK_S),
    }


@pytest.fixture(scope="module")
async def centre(
    tmp_path_factory: pytest.TempPathFactory, tones: dict[str, Path]
) -> AsyncIterator[Centre]:
    names = {"110": "police", "119": "fire", "120": "medical"}
    trunks = {
        names[line]: {
            "number": line, "primary": f"127.0.0.1:{primary}",
            "backup": f"127.0.0.1:{backup}", "dial_timeout_s": DIAL_TIMEOUT_S,
        }
        for line, (primary, backup) in PORTS.items()
    }  # fmt: skip
    state = tmp_path_factory.mktemp("control")
    up = running_centre(state, trunks=trunks, phone_audio={"1001": tones["agent"]},
                        colleagues=[DEPARTMENT])  # fmt: skip
    async with up as c, c.agents_paused("1002", reason="会议"):  # 1001 takes every call
        yield c


@pytest.fixture(autouse=True)
async def no_call_left(centre: Centre) -> AsyncIterator[None]:
    """A test that failed mid-call leaves no caller behind to keep the agent busy."""
    yield
    for name in await channels(centre):
        if name.startswith("PJSIP/carrier-"):
            with contextlib.suppress(AmiActionError):
                await hang_up(centre.hotline.ami, name)


def operator(centre: Centre, line: str, leg: int, tones: dict[str, Path], ring_ms: int = 300
             ) -> AgentPhone:  # fmt: skip
    """The far end of a trunk leg: answers after `ring_ms` and speaks the operator's tone."""
    return AgentPhone(
        centre.workdir, "127.0.0.1", PORTS[line][leg], ring_ms, tones["operator"]
    )


async def room(centre: Centre, name: str) -> set[str]:
    """The channels in a ConfBridge room, as Asterisk lists them."""
    try:
        items = await centre.hotline.ami.action_list("ConfbridgeList", Conference=name)
    except AmiActionError:
        return set()  # "No Conference by that name found."
    return {i["Channel"] for i in items if i.get("Event") == "ConfbridgeList"
            and "@hotline-hold-music-" not in i["Channel"]}  # fmt: skip


async def hold_music_in(centre: Centre, name: str) -> bool:
    """Whether the hold-music player (a party of the room) is in the room."""
    try:
        items = await centre.hotline.ami.action_list("ConfbridgeList", Conference=name)
    except AmiActionError:
        return False
    return any("@hotline-hold-music-" in i.get("Channel", "") for i in items)


async def channels(centre: Centre) -> dict[str, dict[str, str]]:
    listed = await centre.hotline.ami.action_list("CoreShowChannels")
    return {c["Channel"]: c for c in listed if c.get("Event") == "CoreShowChannel"}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.1)


async def until_state(
    centre: Centre, linkedid: str, done: Callable[[ControlState], bool], timeout: float = 20
) -> ControlState:
    control = centre.hotline.control
    deadline = time.monotonic() + timeout
    while True:
        st = control.state(linkedid)
        if st is not None and done(st):
            return st
        assert time.monotonic() < deadline, f"control state not reached: {st}"
        await asyncio.sleep(0.05)


def trunk_channels(listed: dict[str, dict[str, str]], line: str) -> dict[str, str]:
    """The trunk legs of `line` Asterisk has now, by leg (primary/backup), with their state."""
    prefix = f"PJSIP/trunk-{line}-"
    return {
        name.removeprefix(prefix).rsplit("-", 1)[0]: c.get("ChannelStateDesc", "")
        for name, c in listed.items() if name.startswith(prefix)
    }  # fmt: skip


async def answered_call(
    centre: Centre, number: str, tones: dict[str, Path]
) -> tuple[asyncio.Task[CallerResult], Call]:
    plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=90_000, audio=tones["caller"])
    calling = asyncio.create_task(centre.call([CallerIdentity("周到", number)], plan, 120))
    talking = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 30
    )
    assert talking.call.agent_interface == "PJSIP/1001"
    return calling, talking.call


async def end_call(centre: Centre, calling: asyncio.Task[CallerResult], call: Call) -> Call:
    """The caller's line hung up by Asterisk; the SIPp caller saw a clean end; the call over."""
    await hang_up(centre.hotline.ami, call.channel)
    assert (await calling).ok
    ended = await centre.log.wait_ended(call.caller_number)

    async def no_player_left() -> bool:  # no hold music playing to an empty room
        return not any(f"Local/{call.linkedid}@hotline-hold-music" in name
                       for name in await channels(centre))  # fmt: skip

    await eventually(no_player_left, 5, "the call's hold music gone")
    return ended


async def recording_frames(centre: Centre, call: Call) -> list[Window]:
    path = centre.hotline.settings.recordings_dir / call.recording
    deadline = time.monotonic() + 15
    while not await asyncio.to_thread(wav_finished, path):
        assert time.monotonic() < deadline, f"{path} not finished"
        await asyncio.sleep(0.2)
    audio = await asyncio.to_thread(read_wav, path)
    assert ended_s(call) - 1.0 <= audio.duration_s <= ended_s(call) + 0.5  # the whole call
    return await asyncio.to_thread(windows, audio, (CALLER_HZ, AGENT_A_HZ, OPERATOR_HZ, MOH_HZ))


async def stored(centre: Centre, linkedid: str) -> tuple[CallRecord, list[CallEvent]]:
    """The call's record once the call log wrote its end, and its events in order."""
    deadline = time.monotonic() + 15
    while True:
        async with centre.hotline.sessions() as session:
            record = await session.get(CallRecord, linkedid)
            if record is not None and record.outcome is not CallOutcome.IN_PROGRESS:
                query = select(CallEvent).where(CallEvent.linkedid == linkedid)
                events = list(await session.scalars(query.order_by(CallEvent.at, CallEvent.id)))
                return record, events
        assert time.monotonic() < deadline, "the call's record was not ended"
        await asyncio.sleep(0.2)


def ended_s(call: Call) -> float:
    assert call.ended_at is not None and call.answered_at is not None
    return call.ended_at - call.answered_at


async def test_warm_transfer_to_110_completed(centre: Centre, tones: dict[str, Path]) -> None:
    control = centre.hotline.control
    async with operator(centre, "110", 0, tones):
        calling, call = await answered_call(centre, "13900001101", tones)
        await asyncio.sleep(1.5)  # caller and agent talk
        consulted_at = time.time()
        st = await control.consult(call, "110", "hold")
        assert st.consult is not None and st.consult.attempts[0].leg == "primary"
        st = await until_state(centre, call.linkedid,
                               lambda s: s.consult is not None
                               and s.consult.state is ConsultState.ANSWERED)  # fmt: skip
        assert st.held and st.agent_room is Room.CONSULT
        # Asterisk: the caller alone in the main room (hold music), the agent with 110.
        assert await room(centre, main_room(call.linkedid)) == {call.channel}
        consulting = await room(centre, consult_room(call.linkedid))
        assert call.agent_channel in consulting and len(consulting) == 2, consulting
        await asyncio.sleep(3.0)  # the agent briefs the operator; the caller holds
        completed_at = time.time()
        st = await control.complete(call)
        assert st.consult is not None and st.consult.state is ConsultState.COMPLETED
        assert not st.agent_in_call
        # Asterisk: caller and the operator's leg together, the agent's channel gone.
        listed = await channels(centre)
        assert call.agent_channel not in listed
        assert trunk_channels(listed, "110") == {"primary": "Up"}
        together = await room(centre, main_room(call.linkedid))
        assert call.channel in together and len(together) == 2, together
        assert await room(centre, consult_room(call.linkedid)) == set()
        await asyncio.sleep(2.0)  # caller and operator talk
        ended = await end_call(centre, calling, call)
    frames = await recording_frames(centre, ended)
    assert ended.answered_at is not None
    t0 = ended.answered_at
    talk = between(frames, 0.5, consulted_at - t0 - 0.2)
    assert tone_share(talk, AGENT_A_HZ) > 0.8 and tone_share(talk, CALLER_HZ) > 0.8
    # While on hold the caller hears the hold music: neither agent nor operator.
    held = between(frames, consulted_at - t0 + 0.5, completed_at - t0 - 0.3)
    assert len(held) > 20 and tone_share(held, AGENT_A_HZ) == 0
    assert tone_share(held, OPERATOR_HZ) == 0 and tone_share(held, MOH_HZ) > 0.05
    assert tone_share(held, CALLER_HZ) > 0.8  # what the caller says on hold is recorded
    after = between(frames, completed_at - t0 + 0.8, completed_at - t0 + 2.0)
    assert len(after) > 5 and tone_share(after, OPERATOR_HZ) > 0.8, "the operator is not heard"
    assert tone_share(after, AGENT_A_HZ) == 0
    record, events = await stored(centre, call.linkedid)
    assert record.outcome is CallOutcome.EMERGENCY and record.emergency_line == "110"
    assert record.emergency_started_at is not None and record.answered_at is not None
    assert abs((record.emergency_started_at - record.answered_at).total_seconds()
               - (consulted_at - t0)) < 0.5  # fmt: skip
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


async def test_warm_transfer_cancelled(centre: Centre, tones: dict[str, Path]) -> None:
    control = centre.hotline.control
    async with operator(centre, "110", 0, tones):
        calling, call = await answered_call(centre, "13900001102", tones)
        await control.consult(call, "110", "hold")
        await until_state(centre, call.linkedid, lambda s: s.consult is not None
                          and s.consult.state is ConsultState.ANSWERED)  # fmt: skip
        st = await control.cancel(call)
        assert st.consult is not None and st.consult.state is ConsultState.CANCELLED
        assert st.agent_room is Room.MAIN and not st.held
        # Asterisk: agent back with the caller, no trunk leg left.
        assert await room(centre, main_room(call.linkedid)) == {call.channel, call.agent_channel}
        await eventually(lambda: _no_trunk(centre, "110"), 5, "110's leg hung up")
        assert call.agent_channel in await channels(centre)
        ended = await end_call(centre, calling, call)
    assert ended.state is CallState.ENDED
    record, _ = await stored(centre, call.linkedid)  # the caller hung up, not the agent
    assert ended.end_reason == record.end_reason == "hung up by caller"


async def _no_trunk(centre: Centre, line: str) -> bool:
    return not trunk_channels(await channels(centre), line)


async def test_three_party_call_and_the_agent_leaving_it(
    centre: Centre, tones: dict[str, Path]
) -> None:
    control = centre.hotline.control
    async with operator(centre, "110", 0, tones):
        calling, call = await answered_call(centre, "13900001103", tones)
        await control.consult(call, "110", "three_way")
        st = await until_state(centre, call.linkedid, lambda s: s.three_party)
        assert not st.held and st.agent_room is Room.MAIN
        three = await room(centre, main_room(call.linkedid))
        assert {call.channel, call.agent_channel} < three and len(three) == 3, three
        await asyncio.sleep(1.5)
        left_at = time.time()
        st = await control.leave(call)
        assert not st.agent_in_call
        assert st.consult is not None and st.consult.state is ConsultState.COMPLETED
        listed = await channels(centre)
        assert call.agent_channel not in listed and trunk_channels(listed, "110") == {
            "primary": "Up"
        }
        two = await room(centre, main_room(call.linkedid))
        assert call.channel in two and len(two) == 2, two
        await asyncio.sleep(1.5)
        ended = await end_call(centre, calling, call)
    frames = await recording_frames(centre, ended)
    assert ended.answered_at is not None
    t0 = ended.answered_at
    before = between(frames, left_at - t0 - 1.2, left_at - t0 - 0.2)
    assert tone_share(before, AGENT_A_HZ) > 0.5 and tone_share(before, OPERATOR_HZ) > 0.5
    after = between(frames, left_at - t0 + 0.5, left_at - t0 + 1.3)
    assert tone_share(after, OPERATOR_HZ) > 0.8 and tone_share(after, AGENT_A_HZ) == 0


async def test_119_primary_refuses_with_503_and_the_backup_answers(
    centre: Centre, tones: dict[str, Path]
) -> None:
    control = centre.hotline.control
    async with RefusingTrunk(centre.workdir, "127.0.0.1", PORTS["119"][0]), \
            operator(centre, "119", 1, tones):  # fmt: skip
        calling, call = await answered_call(centre, "13900001191", tones)
        await control.consult(call, "119", "hold")
        st = await until_state(centre, call.linkedid, lambda s: s.consult is not None
                               and s.consult.state is ConsultState.ANSWERED)  # fmt: skip
        assert st.consult is not None
        assert [(a.leg, a.status) for a in st.consult.attempts] == [
            ("primary", "CONGESTION"), ("backup", "ANSWER")
        ]
        assert trunk_channels(await channels(centre), "119") == {"backup": "Up"}
        await control.complete(call)
        assert trunk_channels(await channels(centre), "119") == {"backup": "Up"}
        ended = await end_call(centre, calling, call)
    assert ended.state is CallState.ENDED
    record, events = await stored(centre, call.linkedid)
    assert record.outcome is CallOutcome.EMERGENCY and record.emergency_line == "119"
    attempts = [e.detail for e in events if e.kind is CallEventKind.TRUNK_ATTEMPT]
    assert [(a["leg"], a["status"]) for a in attempts] == [
        ("primary", "CONGESTION"), ("backup", "ANSWER")
    ]


async def test_120_primary_not_answering_fails_over_after_the_dial_timeout(
    centre: Centre, tones: dict[str, Path]
) -> None:
    control = centre.hotline.control
    async with operator(centre, "120", 0, tones, ring_ms=60_000), operator(centre, "120", 1, tones):
        calling, call = await answered_call(centre, "13900001201", tones)
        await control.consult(call, "120", "hold")
        st = await until_state(centre, call.linkedid, lambda s: s.consult is not None
                               and s.consult.state is ConsultState.ANSWERED)  # fmt: skip
        assert st.consult is not None
        primary, backup = st.consult.attempts
        assert (primary.leg, primary.status, backup.leg) == ("primary", "NOANSWER", "backup")
        assert primary.ended_at is not None
        rang_s = primary.ended_at - primary.started_at
        assert DIAL_TIMEOUT_S - 0.2 <= rang_s <= DIAL_TIMEOUT_S + 1.0, rang_s
        assert backup.started_at - primary.ended_at < 0.5
        assert trunk_channels(await channels(centre), "120") == {"backup": "Up"}
        # The caller hangs up while the agent still talks to 120 in the consult room: the
        # backend hangs up the consult room too (nobody is left talking for ever).
        ended = await end_call(centre, calling, call)
        await eventually(lambda: _no_trunk(centre, "120"), 5, "120's leg hung up")

        async def agent_gone() -> bool:
            return call.agent_channel not in await channels(centre)

        await eventually(agent_gone, 5, "the agent's leg hung up")
    assert ended.state is CallState.ENDED


async def test_both_trunks_down_keeps_the_caller_with_the_agent(
    centre: Centre, tones: dict[str, Path]
) -> None:
    control = centre.hotline.control
    async with RefusingTrunk(centre.workdir, "127.0.0.1", PORTS["119"][0]), \
            RefusingTrunk(centre.workdir, "127.0.0.1", PORTS["119"][1]):  # fmt: skip
        calling, call = await answered_call(centre, "13900001192", tones)
        try:
            st = await control.consult(call, "119", "hold")
        except ControlFailed as exc:  # both refused before the command returned
            assert exc.code is ControlCode.ALL_TRUNKS_DOWN
        st = await until_state(centre, call.linkedid, lambda s: s.consult is not None
                               and s.consult.state is ConsultState.FAILED
                               and s.agent_room is Room.MAIN)  # fmt: skip
        assert st.consult is not None and st.consult.reason == "all_trunks_down"
        assert [(a.leg, a.status) for a in st.consult.attempts] == [
            ("primary", "CONGESTION"), ("backup", "CONGESTION")
        ]
        # Asterisk: the agent is back with the caller, no trunk leg.
        assert await room(centre, main_room(call.linkedid)) == {call.channel, call.agent_channel}
        await eventually(lambda: _no_trunk(centre, "119"), 5, "119's legs gone")
        ended = await end_call(centre, calling, call)
    assert ended.state is CallState.ENDED
    record, events = await stored(centre, call.linkedid)
    assert record.outcome is CallOutcome.ANSWERED and record.emergency_line == ""
    assert record.emergency_started_at is not None  # the clock started with the attempt
    failed = [e.detail for e in events if e.kind is CallEventKind.CONSULT_FAILED]
    assert [f["reason"] for f in failed] == ["all_trunks_down"]
    assert len([e for e in events if e.kind is CallEventKind.TRUNK_ATTEMPT]) == 2


async def test_hold_and_resume(centre: Centre, tones: dict[str, Path]) -> None:
    control = centre.hotline.control
    calling, call = await answered_call(centre, "13900001001", tones)
    await asyncio.sleep(1.0)
    held_at = time.time()
    st = await control.hold(call)
    assert st.held and st.agent_room is Room.CONSULT
    assert await room(centre, main_room(call.linkedid)) == {call.channel}
    assert await room(centre, consult_room(call.linkedid)) == {call.agent_channel}
    await eventually(lambda: hold_music_in(centre, main_room(call.linkedid)), 5, "hold music")
    with pytest.raises(ControlFailed) as refused:
        await control.hold(call)
    assert refused.value.code is ControlCode.NOT_NOW
    await asyncio.sleep(3.0)
    resumed_at = time.time()
    st = await control.resume(call)
    assert not st.held and st.agent_room is Room.MAIN
    assert await room(centre, main_room(call.linkedid)) == {call.channel, call.agent_channel}

    async def music_gone() -> bool:
        return not await hold_music_in(centre, main_room(call.linkedid))

    await eventually(music_gone, 5, "the hold music stopped")
    st = await control.mute(call, True)
    assert st.muted
    await asyncio.sleep(1.5)
    unmuted_at = time.time()
    st = await control.mute(call, False)
    assert not st.muted
    await asyncio.sleep(1.0)
    await hang_up(centre.hotline.ami, call.agent_channel)  # the agent ends the call (挂断)
    assert (await asyncio.wait_for(calling, 10)).ok  # a BYE at once, not hold music for ever
    ended = await centre.log.wait_ended(call.caller_number)
    assert call.channel not in await channels(centre)
    record, _ = await stored(centre, call.linkedid)  # not "caller", the call left its bridge
    assert ended.end_reason == record.end_reason == "hung up by agent"
    frames = await recording_frames(centre, ended)
    assert ended.answered_at is not None
    t0 = ended.answered_at
    held = between(frames, held_at - t0 + 0.4, resumed_at - t0 - 0.2)
    assert len(held) > 20 and tone_share(held, AGENT_A_HZ) == 0  # the agent is not heard
    assert tone_share(held, MOH_HZ) > 0.05  # the caller hears the hold music
    assert tone_share(held, CALLER_HZ) > 0.8  # and is recorded meanwhile
    muted = between(frames, resumed_at - t0 + 0.6, unmuted_at - t0 - 0.2)
    assert len(muted) > 5 and tone_share(muted, AGENT_A_HZ) == 0
    back = between(frames, unmuted_at - t0 + 0.4, unmuted_at - t0 + 0.9)
    assert tone_share(back, AGENT_A_HZ) > 0.8


async def test_warm_transfer_to_another_agent_and_bad_targets(
    centre: Centre, tones: dict[str, Path]
) -> None:
    control = centre.hotline.control
    calling, call = await answered_call(centre, "13900001002", tones)
    for target in ("1001", "999", "12345"):  # yourself, nobody, the hotline itself
        with pytest.raises(ControlFailed) as refused:
            await control.consult(call, target, "hold")
        assert refused.value.code is ControlCode.BAD_TARGET
    assert control.state(call.linkedid) is None  # nothing was done
    presences = centre.hotline.desk.presences
    async with agent_desktop(centre, "1002") as desk_1002:
        st = await control.consult(call, "1002", "hold")  # 1002 is paused: dialled all the same
        st = await until_state(centre, call.linkedid, lambda s: s.consult is not None
                               and s.consult.state is ConsultState.ANSWERED)  # fmt: skip
        assert st.consult is not None and st.consult.attempts[0].leg == "1002"
        st = await control.complete(call)
        together = await room(centre, main_room(call.linkedid))
        assert call.channel in together and len(together) == 2, together
        listed = await channels(centre)
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
        ended = await end_call(centre, calling, call)
        assert ended.state is CallState.ENDED and ended.outcome_owner == "PJSIP/1002"
        await centre.hotline.ami.action(  # back to the meeting: 1001 takes every call
            "QueuePause", Interface="PJSIP/1002", Paused="true", Reason="会议"
        )
        await eventually(_paused_1002(centre), 10, "1002 paused again")
    async with centre.hotline.sessions() as session:
        link = await session.scalar(select(OrderCall).where(OrderCall.linkedid == call.linkedid))
        assert link is not None and link.order_id == saved["result"]["order_id"]
        first = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == link.order_id).order_by(AuditEntry.id))  # fmt: skip
        user = await active_user_at(session, "1002")
        assert first is not None and user is not None and first.actor_id == user.id


def _paused_1002(centre: Centre) -> Callable[[], Awaitable[bool]]:
    async def paused() -> bool:
        return centre.hotline.desk.presences["1002"].state.value == "paused"

    return paused


@contextlib.asynccontextmanager
async def agent_desktop(centre: Centre, ext: str) -> AsyncIterator[Desktop]:
    """The agent's desktop on the backend's gateway, with a CRM user and token of its own."""
    hotline = centre.hotline
    token = await crm_user(centre, f"坐席{ext}", Role.AGENT, ext)
    url = f"http://127.0.0.1:{hotline.settings.http.port}/api/desk/ticket"
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"extension": ext}, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        ticket = (await response.json())["ticket"]
    async with connect(f"ws://127.0.0.1:{hotline.gateway.port}/?ticket={ticket}") as ws:
        desktop = Desktop(ws)
        await desktop.wait_for("snapshot")
        try:
            yield desktop
        finally:
            await desktop.close()


async def test_a_consult_cancelled_while_the_trunk_rings(
    centre: Centre, tones: dict[str, Path]
) -> None:
    control = centre.hotline.control
    async with operator(centre, "120", 0, tones, ring_ms=60_000):
        calling, call = await answered_call(centre, "13900001202", tones)
        st = await control.consult(call, "120", "hold")
        assert st.consult is not None and st.consult.state is ConsultState.RINGING
        assert st.consult.attempts[0].leg == "primary"  # its INVITE is out (DialBegin)

        async def ringing() -> bool:  # then the far end's 180
            return trunk_channels(await channels(centre), "120") == {"primary": "Ringing"}

        await eventually(ringing, 5, "120's primary ringing")
        st = await control.cancel(call)
        assert st.consult is not None and st.consult.state is ConsultState.CANCELLED
        assert st.consult.answered_at is None and st.agent_room is Room.MAIN
        assert await room(centre, main_room(call.linkedid)) == {call.channel, call.agent_channel}
        await eventually(lambda: _no_trunk(centre, "120"), 5, "120's ringing leg cancelled")
        ended = await end_call(centre, calling, call)
    assert ended.state is CallState.ENDED


async def test_three_party_call_with_a_department(centre: Centre, tones: dict[str, Path]) -> None:
    """A colleague's phone (a department's duty phone) joins the caller and the agent, then
    the agent leaves them together."""
    control = centre.hotline.control
    port = int(str(DEPARTMENT["contact"]).rsplit(":", 1)[1])
    async with AgentPhone(centre.workdir, "127.0.0.1", port, 300, tones["operator"]):
        calling, call = await answered_call(centre, "13900008001", tones)
        await control.consult(call, "8001", "three_way")
        st = await until_state(centre, call.linkedid, lambda s: s.three_party)
        assert st.consult is not None and st.consult.attempts[0].leg == "8001"
        three = await room(centre, main_room(call.linkedid))
        assert {call.channel, call.agent_channel} < three and len(three) == 3, three
        listed = await channels(centre)
        (phone,) = (c for name, c in listed.items() if name.startswith("PJSIP/8001-"))
        # A department is outside the centre: its phone is shown the hotline's number.
        assert phone["ConnectedLineNum"] == "12345", phone
        await control.leave(call)
        listed = await channels(centre)
        assert call.agent_channel not in listed
        assert any(name.startswith("PJSIP/8001-") for name in listed)
        ended = await end_call(centre, calling, call)
    record, _events = await stored(centre, ended.linkedid)
    assert record.emergency_line == "" and record.emergency_started_at is None
