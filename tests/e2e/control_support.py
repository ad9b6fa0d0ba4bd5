"""What the call-control E2E modules share (tests/e2e/test_call_control_*.py and
test_consult_agent_lost.py): one private hotline per module with a SIPp UAS per trunk leg
(`centre`, `tones`, `no_call_left`: import them into the module), the caller and the trunks'
far ends, and the readings of Asterisk itself: `ConfbridgeList` of the call's rooms,
`CoreShowChannels`, and the recording MixMonitor wrote (who is heard when)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from crm.db.call_models import CallEvent, CallRecord
from crm.domain.calls import CallOutcome
from crm.domain.enums import Role
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, CallerResult
from telephony.actions import hang_up
from telephony.ami_connection import AmiActionError
from telephony.call import Call, CallState
from telephony.call_control import ControlState
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
from tests.support.polling import eventually as eventually  # re-exported: used as cs.eventually
from tests.support.trunk_peers import emergency_trunks

DIAL_TIMEOUT_S = 3
PORTS = {line: (free_udp_port(), free_udp_port()) for line in ("110", "119", "120")}
SPEAK_S = 60.0
OPERATOR_HZ = AGENT_B_HZ  # every trunk's far end speaks this tone
DEPARTMENT = {"extension": "8001", "name": "市水务局值班室", "kind": "department",
              "contact": f"sip:8001@127.0.0.1:{free_udp_port()}"}  # fmt: skip
TALK_S = 1.5  # caller and agent talk before a consult
HOLD_S = 3.0  # the agent briefs the third party; the caller holds (a chime every 2 s)
AFTER_S = 2.0  # the caller talks with whoever it is left with
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
    trunks = emergency_trunks(PORTS, DIAL_TIMEOUT_S)
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


def answered(st: ControlState) -> bool:
    return st.consult is not None and st.consult.answered_at is not None


async def consulted(
    where: Centre, call: Call, target: str, mode: str = "hold"
) -> tuple[tuple[float, float], ControlState]:
    """After TALK_S of the caller with the agent, the agent consults `target` until it
    answers: when the consult was sent and when it returned (the hold confirmed, the first
    leg dialled), epoch s; the control state once answered."""
    await asyncio.sleep(TALK_S)
    sent = time.time()
    await where.hotline.control.consult(call, target, mode)
    returned = time.time()
    return (sent, returned), await until_state(where, call.linkedid, answered)


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


@contextlib.asynccontextmanager
async def call_with_operator(
    where: Centre, tones: dict[str, Path], number: str, line: str
) -> AsyncIterator[tuple[asyncio.Task[CallerResult], Call]]:
    """A call from `number` answered by the agent, `line`'s primary operator standing by."""
    async with operator(where, line, 0, tones):
        yield await answered_call(where, number, tones)


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


@dataclass(frozen=True)
class Heard:
    """Who is heard in the call's recording, window by window, read by wall-clock time."""

    frames: list[Window]
    answered_at: float  # epoch seconds: the recording's start

    def during(self, start: float, end: float) -> list[Window]:
        """The windows between epoch seconds `start` and `end`."""
        return between(self.frames, start - self.answered_at, end - self.answered_at)


async def recording_of(centre: Centre, call: Call) -> Heard:
    """The ended call's recording once MixMonitor finished it (its header rewritten); it
    lasts as long as the call, answer to hang-up: nothing of the conversation is missing."""
    path = centre.hotline.settings.recordings_dir / call.recording
    deadline = time.monotonic() + 15
    while not await asyncio.to_thread(wav_finished, path):
        assert time.monotonic() < deadline, f"{path} not finished"
        await asyncio.sleep(0.2)
    audio = await asyncio.to_thread(read_wav, path)
    # The whole call, no more. Unloaded, the file is within 0.1 s of the call; on a machine
    # loaded far beyond its cores (load 7-13 on two) MixMonitor drops what it cannot keep up
    # with: 1.4-1.6 s of 7.7-10.1 s calls were measured missing. The phases checked after
    # this (the one after the hand-over included) show the file did not stop early.
    lasted = ended_s(call)
    slack = max(1.0, 0.2 * lasted)
    assert lasted - slack <= audio.duration_s <= lasted + 0.5, (audio.duration_s, lasted)
    assert call.answered_at is not None
    tones = (CALLER_HZ, AGENT_A_HZ, OPERATOR_HZ, MOH_HZ)
    return Heard(await asyncio.to_thread(windows, audio, tones), call.answered_at)


def _shares(frames: Sequence[Window]) -> dict[float, float]:
    """Each tone's share of `frames` (what a failed check shows)."""
    return {hz: round(tone_share(frames, hz), 2) for hz in (CALLER_HZ, AGENT_A_HZ,
                                                             OPERATOR_HZ, MOH_HZ)}  # fmt: skip


def assert_talking(frames: Sequence[Window], other: float = AGENT_A_HZ) -> None:
    """The caller and `other` (the agent, or the operator) both heard, nobody else."""
    assert len(frames) >= 5, "too short a span to tell"
    shares = _shares(frames)
    assert shares[CALLER_HZ] > 0.8 and shares[other] > 0.8, (other, shares)
    for hz in {AGENT_A_HZ, OPERATOR_HZ} - {other}:
        assert shares[hz] == 0, (f"{hz} Hz heard too", shares)


def assert_heard_around_hold(
    heard: Heard, held: tuple[float, float], back: tuple[float, float],
    then: float | None = None,
) -> None:
    """The caller talking with the agent until the hold, on hold until it ends, then (for
    AFTER_S) talking with the party of tone `then` (the agent, the operator), if given.
    `held` and `back`: when the command that began (ended) the hold was sent and when it
    returned, confirmed by Asterisk: the spans between are what the caller surely heard,
    however long Asterisk took on a loaded machine."""
    assert_talking(heard.during(max(heard.answered_at + 0.5, held[0] - 1.2), held[0] - 0.2))
    assert_on_hold(heard.during(held[1] + 0.3, back[0] - 0.2))
    if then is not None:
        assert_talking(heard.during(back[1] + 0.5, back[1] + AFTER_S), then)


def assert_on_hold(frames: Sequence[Window]) -> None:
    """The caller on hold: the hold music, neither the agent nor the operator, and what the
    caller says meanwhile recorded."""
    assert len(frames) > 20, "too short a hold to hear its music (a chime every 2 s)"
    shares = _shares(frames)
    assert shares[AGENT_A_HZ] == 0 and shares[OPERATOR_HZ] == 0, shares
    assert shares[MOH_HZ] > 0.05 and shares[CALLER_HZ] > 0.8, shares


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


async def no_trunk(centre: Centre, line: str) -> bool:
    return not trunk_channels(await channels(centre), line)


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
