"""Listen, whisper and barge with a real Asterisk: a SIPp caller, the agent's SIPp phone and
the supervisor's SIPp phone, each speaking its own tone. Who hears whom is read from the RTP
Asterisk sends each party (`tests/support/rtp_capture.py`: a whisper is not in any MixMonitor
of the call), the spy from Asterisk's own lists (`CoreShowChannels`: the spy channel running
ChanSpy on the agent's leg, and nothing left behind), the supervisor's separate recording
from its file."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from agent_gateway.edge.store import SPY_KEY
from crm.db.call_models import Recording
from crm.db.call_models import SpySession as SpySessionRow
from crm.domain.calls import RecordingStatus
from crm.domain.enums import Role
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerResult
from telephony.actions import hang_up
from telephony.ami_connection import AmiActionError
from telephony.call import Call
from telephony.call_control import ConsultState
from telephony.dialplan import main_room
from telephony.spy import SpyCode, SpyFailed, SpyMode, SpyPhase, SpySession
from telephony.spy_service import SpyService
from tests.e2e.control_support import (
    PORTS,
    answered_call,
    channels,
    end_call,
    eventually,
    operator,
    room,
    until_state,
)
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.e2e.test_desktop import Desktop, _ticket
from tests.support.audio import (
    AGENT_A_HZ,
    AGENT_C_HZ,
    CALLER_HZ,
    read_wav,
    tone_pcap,
    tone_share,
    wav_finished,
    windows,
)
from tests.support.rtp_capture import RtpCapture

SPEAK_S = 90.0
SUPERVISOR_HZ = AGENT_C_HZ
OPERATOR_HZ = 1800.0
SUPERVISOR = {"extension": "8001", "name": "张班长", "kind": "supervisor",
              "contact": f"sip:8001@127.0.0.1:{free_udp_port()}"}  # fmt: skip
SLOW = {
    "extension": "8002",
    "name": "李班长",
    "kind": "supervisor",
    "contact": f"sip:8002@127.0.0.1:{free_udp_port()}",
}  # rings 3 s before answering
TONES = (CALLER_HZ, AGENT_A_HZ, SUPERVISOR_HZ, OPERATOR_HZ)


@pytest.fixture(scope="module")
async def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tones")
    return {
        "caller": tone_pcap(d / "caller.pcap", CALLER_HZ, SPEAK_S),
        "agent": tone_pcap(d / "agent.pcap", AGENT_A_HZ, SPEAK_S),
        "supervisor": tone_pcap(d / "supervisor.pcap", SUPERVISOR_HZ, SPEAK_S),
        "operator": tone_pcap(d / "operator.pcap", OPERATOR_HZ, SPEAK_S),
    }


@pytest.fixture(scope="module")
async def centre(
    tmp_path_factory: pytest.TempPathFactory, tones: dict[str, Path]
) -> AsyncIterator[Centre]:
    trunks = {
        "police": {
            "number": "110",
            "primary": f"127.0.0.1:{PORTS['110'][0]}",
            "backup": f"127.0.0.1:{PORTS['110'][1]}",
            "dial_timeout_s": 3,
            "qualify_s": 0,  # its far ends come and go with each test
        }
    }
    state = tmp_path_factory.mktemp("spy")
    up = running_centre(state, trunks=trunks, phone_audio={"1001": tones["agent"]},
                        colleagues=[SUPERVISOR, SLOW])  # fmt: skip
    port = int(SUPERVISOR["contact"].rsplit(":", 1)[1])
    phone = AgentPhone(state / "sipp", "127.0.0.1", port, 300, tones["supervisor"])
    slow_port = int(SLOW["contact"].rsplit(":", 1)[1])
    slow = AgentPhone(state / "sipp", "127.0.0.1", slow_port, 3000, tones["supervisor"])
    async with up as c, c.agents_paused("1002", reason="会议"), phone, slow:
        c.hotline.spy.ring_s = 10.0
        yield c


@asynccontextmanager
async def supervisor_desk(centre: Centre, phone: str) -> AsyncIterator[Desktop]:
    """A supervisor bound to `phone` on the backend's gateway, its snapshot received."""
    token = await crm_user(centre, f"班长 {phone}", Role.SUPERVISOR, phone)
    async with aiohttp.ClientSession() as http:
        ticket = await _ticket(http, centre, token, phone)
    port = centre.hotline.gateway.port
    async with connect(f"ws://127.0.0.1:{port}/?ticket={ticket}") as ws:
        desk = Desktop(ws)
        await desk.wait_for("snapshot")
        try:
            yield desk
        finally:
            await desk.close()


@pytest.fixture
def rtp() -> Iterator[RtpCapture]:
    with RtpCapture().running() as capture:
        yield capture


@pytest.fixture(autouse=True)
async def nothing_left(centre: Centre) -> AsyncIterator[None]:
    """Every test leaves no spy, no caller and no supervisor's channel in Asterisk."""
    yield
    stray = [n for n in await channels(centre)
             if n.startswith(("PJSIP/carrier-", "PJSIP/8001-", "PJSIP/8002-"))]  # fmt: skip
    for name in stray:  # cleaned up for the next test, but this one fails
        with contextlib.suppress(AmiActionError):
            await hang_up(centre.hotline.ami, name)
    assert not stray, f"channels left in Asterisk: {stray}"


async def rtp_dest(centre: Centre, channel: str) -> str:
    answer = await centre.hotline.ami.action("Getvar", Channel=channel,
                                             Variable="CHANNEL(rtp,dest)")  # fmt: skip
    value = answer.get("Value", "")
    assert ":" in value, f"no RTP destination for {channel}: {answer}"
    return value


def heard(rtp: RtpCapture, key: tuple[str, int], start: float, end: float) -> dict[float, float]:
    """For each party's tone, the share of 100 ms windows of what `key` received in which
    it is present."""
    frames = windows(rtp.audio(key, start, end), TONES)
    assert len(frames) >= 5, f"no audio sent to {key} between {start:.1f} and {end:.1f}"
    return {hz: tone_share(frames, hz) for hz in TONES}


async def spy_channels(centre: Centre, phone: str = "8001") -> dict[str, dict[str, str]]:
    return {n: c for n, c in (await channels(centre)).items() if n.startswith(f"PJSIP/{phone}-")}


async def no_spy_left(centre: Centre, phone: str = "8001") -> None:
    async def gone() -> bool:
        return not await spy_channels(centre, phone)

    await eventually(gone, 10, "the supervisor's channel gone from Asterisk")
    assert centre.hotline.spy.session_of(phone) is None


async def joined(spy: SpyService, phone: str, linkedid: str, mode: str) -> SpySession:
    """Started (answered at once, the phone calling) and then joined."""
    session = await spy.start(phone, linkedid, mode)
    assert session.phase is SpyPhase.CALLING
    return await spy.joined(session.uniqueid)


async def talk(seconds: float) -> tuple[float, float]:
    """A span of the call to analyse, leaving the first half second to settle."""
    start = time.time()
    await asyncio.sleep(seconds)
    return start + 0.5, time.time()


async def test_listen_whisper_barge_and_leave(
    centre: Centre, tones: dict[str, Path], rtp: RtpCapture
) -> None:
    spy = centre.hotline.spy
    calling, call = await answered_call(centre, "13900008001", tones)
    caller = rtp.watch(await rtp_dest(centre, call.channel))
    agent = rtp.watch(await rtp_dest(centre, call.agent_channel))
    asked = time.time()
    session = await joined(spy, "8001", call.linkedid, "listen")
    assert session.phase is SpyPhase.JOINED and session.mode is SpyMode.LISTEN
    assert session.spyee_channel == call.agent_channel and session.agent == "1001"
    assert session.joined_at is not None and session.joined_at - asked < 5
    listed = await spy_channels(centre)
    assert list(listed) == [session.spyer_channel]
    (spyer,) = listed.values()
    assert spyer["Application"] == "ChanSpy" and spyer["Uniqueid"] == session.uniqueid
    assert spyer["ApplicationData"] == f"{call.agent_channel},qE"
    supervisor = rtp.watch(await rtp_dest(centre, session.spyer_channel))

    span = await talk(2.5)
    hears = heard(rtp, supervisor, *span)
    assert hears[CALLER_HZ] > 0.8 and hears[AGENT_A_HZ] > 0.8, hears
    assert heard(rtp, caller, *span)[SUPERVISOR_HZ] == 0
    assert heard(rtp, agent, *span)[SUPERVISOR_HZ] == 0

    session = await spy.switch("8001", "whisper")
    assert session.mode is SpyMode.WHISPER and session.phase is SpyPhase.JOINED
    (spyer,) = (await spy_channels(centre)).values()  # the same channel: not rung again
    assert spyer["Uniqueid"] == session.uniqueid
    assert spyer["ApplicationData"] == f"{call.agent_channel},qEw"
    span = await talk(2.5)
    assert heard(rtp, agent, *span)[SUPERVISOR_HZ] > 0.8
    assert heard(rtp, caller, *span)[SUPERVISOR_HZ] == 0
    hears = heard(rtp, supervisor, *span)
    assert hears[CALLER_HZ] > 0.8 and hears[AGENT_A_HZ] > 0.8, hears

    session = await spy.switch("8001", "barge")
    (spyer,) = (await spy_channels(centre)).values()
    assert spyer["ApplicationData"] == f"{call.agent_channel},qEB"
    span = await talk(2.5)
    assert heard(rtp, agent, *span)[SUPERVISOR_HZ] > 0.8
    assert heard(rtp, caller, *span)[SUPERVISOR_HZ] > 0.8

    left = await spy.leave("8001")
    assert left.phase is SpyPhase.ENDED and left.end_code == SpyCode.LEFT
    assert [c.mode for c in left.changes] == ["listen", "whisper", "barge"]
    assert left.duration_s is not None and 7.0 < left.duration_s < 20.0
    await no_spy_left(centre)
    span = await talk(1.5)  # the call goes on without the supervisor
    assert heard(rtp, caller, *span)[SUPERVISOR_HZ] == 0
    assert heard(rtp, caller, *span)[AGENT_A_HZ] > 0.8
    ended = await end_call(centre, calling, call)
    await supervision_recorded(centre, left, ended)
    await audited(centre, left)


async def audited(centre: Centre, session: SpySession) -> None:
    """The session on record with each mode, its duration, and its file as the call's
    recording of kind supervision (checked by the recording checker like the call's)."""
    deadline = time.monotonic() + 15
    while True:
        async with centre.hotline.sessions() as db:
            row = await db.scalar(select(SpySessionRow).where(
                SpySessionRow.uniqueid == session.uniqueid))  # fmt: skip
            kept = list(await db.scalars(select(Recording).where(
                Recording.linkedid == session.linkedid).order_by(Recording.part)))  # fmt: skip
        if (
            row is not None
            and row.ended_at is not None
            and len(kept) == 2
            and all(r.status is RecordingStatus.ATTACHED for r in kept)
        ):
            break
        assert time.monotonic() < deadline, (row, kept)
        await asyncio.sleep(0.2)
    assert [m["mode"] for m in row.modes] == ["listen", "whisper", "barge"]
    assert row.agent == "1001" and row.phone == "8001" and row.end_code == "left"
    assert row.duration_s == pytest.approx(session.duration_s, abs=0.01)
    assert [(r.kind, r.path) for r in kept] == [
        ("call", kept[0].path),
        ("supervision", session.recording),
    ]
    assert kept[1].duration_s is not None and kept[1].duration_s > 4.0


async def supervision_recorded(centre: Centre, session: SpySession, call: Call) -> None:
    """The supervisor's voice is in the session's own file, from the first whisper on, and
    not in the call's recording."""
    assert session.recording
    path = centre.hotline.settings.recordings_dir / session.recording
    await eventually(lambda: asyncio.to_thread(wav_finished, path), 10, f"{path} finished")
    frames = await asyncio.to_thread(windows, await asyncio.to_thread(read_wav, path), TONES)
    assert tone_share(frames, SUPERVISOR_HZ) > 0.7, "the supervisor's voice is not recorded"
    own = centre.hotline.settings.recordings_dir / call.recording
    await eventually(lambda: asyncio.to_thread(wav_finished, own), 10, f"{own} finished")
    call_frames = await asyncio.to_thread(windows, await asyncio.to_thread(read_wav, own), TONES)
    assert tone_share(call_frames, SUPERVISOR_HZ) == 0


async def test_spy_on_a_held_call_and_a_three_party_call(
    centre: Centre, tones: dict[str, Path], rtp: RtpCapture
) -> None:
    """Mid-transfer (the caller on hold, the agent with 110) the supervisor hears the agent
    and the operator; in the three-party call all three; the session follows the agent's
    leg from room to room."""
    spy, control = centre.hotline.spy, centre.hotline.control
    async with operator(centre, "110", 0, tones):
        calling, call = await answered_call(centre, "13900008002", tones)
        await control.consult(call, "110", "hold")
        await until_state(centre, call.linkedid, lambda s: s.consult is not None
                          and s.consult.state is ConsultState.ANSWERED)  # fmt: skip
        session = await joined(spy, "8001", call.linkedid, "listen")
        assert session.spyee_channel == call.agent_channel
        supervisor = rtp.watch(await rtp_dest(centre, session.spyer_channel))
        caller = rtp.watch(await rtp_dest(centre, call.channel))
        agent = rtp.watch(await rtp_dest(centre, call.agent_channel))
        span = await talk(2.5)
        hears = heard(rtp, supervisor, *span)
        assert hears[AGENT_A_HZ] > 0.8 and hears[OPERATOR_HZ] > 0.8, hears
        assert hears[CALLER_HZ] == 0, hears  # the caller holds, alone with the music
        await control.three_way(call)
        await until_state(centre, call.linkedid, lambda s: s.three_party)
        session = await spy.switch("8001", "barge")
        span = await talk(2.5)
        hears = heard(rtp, supervisor, *span)
        assert min(hears[CALLER_HZ], hears[AGENT_A_HZ], hears[OPERATOR_HZ]) > 0.8, hears
        # In the call's room (ChanSpy's B would reach the agent only: no bridge peer there).
        assert session.spyer_channel in await room(centre, main_room(call.linkedid))
        assert heard(rtp, agent, *span)[SUPERVISOR_HZ] > 0.8
        assert heard(rtp, caller, *span)[SUPERVISOR_HZ] > 0.8
        session = await spy.switch("8001", "listen")  # out of the room, spying again
        assert session.spyer_channel not in await room(centre, main_room(call.linkedid))
        span = await talk(2.0)
        assert heard(rtp, caller, *span)[SUPERVISOR_HZ] == 0
        hears = heard(rtp, supervisor, *span)
        assert min(hears[CALLER_HZ], hears[AGENT_A_HZ], hears[OPERATOR_HZ]) > 0.8, hears
        await spy.switch("8001", "barge")  # in the room when the call ends: leaves with it
        await end_call(centre, calling, call)
    await no_spy_left(centre)


async def test_refusals_leave_nothing_behind(centre: Centre, tones: dict[str, Path]) -> None:
    spy = centre.hotline.spy
    with pytest.raises(SpyFailed) as refused:
        await spy.start("8001", "1700000000.999", "listen")
    assert refused.value.code is SpyCode.NO_CALL
    with pytest.raises(SpyFailed) as refused:
        await spy.start("1001", "1700000000.999", "listen")  # an agent's phone
    assert refused.value.code is SpyCode.NOT_A_SUPERVISOR_PHONE
    with pytest.raises(SpyFailed) as refused:
        await spy.switch("8001", "whisper")
    assert refused.value.code is SpyCode.NOT_SPYING
    calling, call = await answered_call(centre, "13900008003", tones)
    ended = await end_call(centre, calling, call)
    with pytest.raises(SpyFailed) as refused:  # the call that just ended
        await spy.start("8001", ended.linkedid, "listen")
    assert refused.value.code is SpyCode.CALL_ENDED
    assert not await spy_channels(centre)
    wanted = {("1700000000.999", "no_call"), ("1700000000.999", "not_a_supervisor_phone"),
              (ended.linkedid, "call_ended")}  # fmt: skip

    async def on_record() -> bool:
        async with centre.hotline.sessions() as db:
            never = select(SpySessionRow).where(SpySessionRow.joined_at.is_(None))
            rows = list(await db.scalars(never.where(SpySessionRow.ended_at.is_not(None))))
        return wanted <= {(r.linkedid, r.end_code) for r in rows}

    await eventually(on_record, 10, "the refused attempts in the audit")


async def test_own_call_and_a_mode_switch_after_the_call_ended(
    centre: Centre, tones: dict[str, Path]
) -> None:
    spy, control = centre.hotline.spy, centre.hotline.control
    calling, call = await answered_call(centre, "13900008004", tones)
    await control.consult(call, "8001", "three_way")  # the supervisor's phone joins the call
    await until_state(centre, call.linkedid, lambda s: s.three_party)
    before = await spy_channels(centre)
    with pytest.raises(SpyFailed) as refused:
        await spy.start("8001", call.linkedid, "listen")
    assert refused.value.code is SpyCode.OWN_CALL
    assert set(await spy_channels(centre)) == set(before)  # no spy channel was made
    await end_call(centre, calling, call)

    calling, call = await answered_call(centre, "13900008005", tones)
    session = await joined(spy, "8001", call.linkedid, "whisper")
    with pytest.raises(SpyFailed) as refused:  # another supervisor on 8001's spy channel
        await spy.start("8002", session.uniqueid, "listen")
    assert refused.value.code is SpyCode.SPY_CHANNEL
    assert not await spy_channels(centre, "8002")
    await hang_up(centre.hotline.ami, call.channel)
    assert (await calling).ok
    await centre.log.wait_ended(call.caller_number)
    with pytest.raises(SpyFailed) as refused:
        await spy.switch("8001", "barge")
    assert refused.value.code in (SpyCode.CALL_ENDED, SpyCode.NOT_SPYING)
    await no_spy_left(centre)
    assert centre.hotline.spy._last[session.uniqueid].end_code == SpyCode.SPYEE_GONE


async def test_spied_call_ends_while_the_phone_rings(
    centre: Centre, tones: dict[str, Path]
) -> None:
    """ChanSpy would wait forever for a channel that is gone: the spy channel is hung up."""
    spy = centre.hotline.spy
    calling, call = await answered_call(centre, "13900008006", tones)
    calling_phone = await spy.start("8002", call.linkedid, "listen")
    starting = asyncio.create_task(spy.joined(calling_phone.uniqueid))

    async def ringing() -> bool:
        return bool(await spy_channels(centre, "8002"))

    await eventually(ringing, 5, "the supervisor's phone called")
    hung_up = time.monotonic()
    await hang_up(centre.hotline.ami, call.channel)
    result: CallerResult = await calling
    assert result.ok
    with pytest.raises(SpyFailed) as failed:
        await starting
    assert failed.value.code is SpyCode.CALL_ENDED
    assert time.monotonic() - hung_up < 5  # the ringing phone was let go at once
    await no_spy_left(centre, "8002")


async def test_a_start_answers_at_once_and_a_leave_while_ringing_leaves_nothing(
    centre: Centre, tones: dict[str, Path]
) -> None:
    """spy_start does not hold the supervisor's commands while the phone rings (3 s): it is
    answered calling, a force_pause sent meanwhile is carried out, and a leave while the
    phone still rings ends the session (as spy_session messages on the supervisor's topic)
    with nothing left in Asterisk."""
    calling, call = await answered_call(centre, "13900008007", tones)
    async with supervisor_desk(centre, "8002") as desk:
        started = await desk.command("spy_start", linkedid=call.linkedid, mode="listen")
        assert started["ok"] and started["result"]["phase"] == "calling", started
        paused = await desk.command("force_pause", extension="1002", pause_reason="会议",
                                    reason="例会继续")  # fmt: skip
        assert paused["ok"], paused
        left = await desk.command("spy_leave")
        assert left["ok"], left
        assert left["result"]["phase"] == "ended" and left["result"]["joined_at"] is None
        assert left["result"]["end_code"] == "left"
        ended = await desk.wait_for("spy_session", phase="ended")
        assert ended["linkedid"] == call.linkedid and ended["end_code"] == "left"
        assert ended["reason"] == "已退出监听" and ended["joined_at"] is None
        phases = [f["phase"] for _, f in desk.frames if f["type"] == "spy_session"]
        assert phases[0] == "calling" and phases[-1] == "ended", phases
        await no_spy_left(centre, "8002")
        assert await centre.hotline.redis.hget(SPY_KEY, "8002") is None
        await asyncio.sleep(4)  # the phone would have answered by now: still nothing
        assert not await spy_channels(centre, "8002")
    await end_call(centre, calling, call)
