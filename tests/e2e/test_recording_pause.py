"""The agent pauses and resumes a call's recording from the desktop, with a real Asterisk, a
SIPp caller and the agent's SIPp phone each speaking its own tone (tests/support/audio.py):
the MixMonitor file Asterisk writes holds digital silence, neither party's tone, for as long
as the pause lasted, and both tones before and after it (a mute of one direction only would
leave the other party audible); each pause is an event on the call; Asterisk's own manager
says our AMI user may send the action."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from crm.db.call_models import CallEvent
from crm.domain.calls import CallEventKind
from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.actions import mute_recording
from telephony.asterisk_tables import AMI_WRITE_CLASSES
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.e2e.test_desktop import Desktop
from tests.support.audio import (
    AGENT_A_HZ,
    CALLER_HZ,
    between,
    read_wav,
    silence_spans,
    tone_pcap,
    tone_share,
    wav_finished,
    windows,
)

CALLER = CallerIdentity("钱多多", "13922223333")
SPEAK_S = 40.0  # each pcap outlasts the call: SIPp plays it for its length
EDGE_S = 0.4  # Asterisk's event times against the file's timeline, and 100 ms windows


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    """A hotline whose agent 1001's phone speaks its tone into every call it takes."""
    agent_tone = tone_pcap(tmp_path_factory.mktemp("tones") / "1001.pcap", AGENT_A_HZ, SPEAK_S)
    state_dir = tmp_path_factory.mktemp("centre")
    async with running_centre(state_dir, phone_audio={"1001": agent_tone}) as centre:
        yield centre


@pytest.fixture(scope="module")
def caller_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone_pcap(tmp_path_factory.mktemp("caller") / "caller.pcap", CALLER_HZ, SPEAK_S)


@pytest.fixture
async def desk(centre: Centre) -> AsyncIterator[Desktop]:
    """Agent 1001's desktop; 1002 (the queue's other agent) is in a meeting meanwhile."""
    hotline = centre.hotline
    token = await crm_user(centre, "王芳", Role.AGENT, "1001")
    url = f"http://127.0.0.1:{hotline.settings.http.port}/api/desk/ticket"
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        auth = {"Authorization": f"Bearer {token}"}
        async with http.post(url, json={"extension": "1001"}, headers=auth) as response:
            assert response.status == 200, await response.text()
            ticket = (await response.json())["ticket"]
        port = hotline.gateway.port
        ws = await stack.enter_async_context(connect(f"ws://127.0.0.1:{port}/?ticket={ticket}"))
        desktop = Desktop(ws)
        stack.push_async_callback(desktop.close)
        await desktop.wait_for("snapshot")
        await stack.enter_async_context(centre.agents_paused("1002", reason="会议"))
        yield desktop


async def _finished_wav(path: Path, timeout_s: float = 15) -> Path:
    """The recording once Asterisk closed it (its header's sizes agree with the file's)."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(wav_finished, path):
        assert time.monotonic() < deadline, f"{path} not finished in {timeout_s} s"
        await asyncio.sleep(0.2)
    return path


def _epoch(at: datetime) -> float:
    """A naive-UTC timestamp column as epoch seconds (the tracker's clock)."""
    return (at - datetime(1970, 1, 1)).total_seconds()


async def test_a_pause_leaves_silence_of_its_length_in_the_recording(
    centre: Centre, desk: Desktop, caller_audio: Path
) -> None:
    privilege = await centre.hotline.asterisk.cli("manager show command MixMonitorMute")
    granted = privilege.split("[Privilege]", 1)[1].split("[", 1)[0]
    assert set(AMI_WRITE_CLASSES) & {c.strip() for c in granted.strip().split(",")}, privilege

    plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=40_000, audio=caller_audio)
    calling = asyncio.create_task(centre.call([CALLER], plan))
    talking = await desk.wait_for("call_update", state="talking", agent_extension="1001",
                                  timeout=30)  # fmt: skip
    call_id = talking["call_id"]
    assert talking["recording_paused"] is False
    await asyncio.sleep(2.0)  # both speak, recorded

    before_pause = time.monotonic()
    paused = await desk.command("recording_pause", call_id=call_id)
    after_pause = time.monotonic()
    assert paused["ok"] and paused["result"] == {
        "call_id": call_id, "recording_paused": True, "changed": True
    }, paused
    await desk.wait_for("call_update", call_id=call_id, recording_paused=True)
    again = await desk.command("recording_pause", call_id=call_id)  # a double click
    assert again["ok"] and again["result"]["changed"] is False, again
    await asyncio.sleep(3.0)  # the caller reads out a card number: not recorded
    before_resume = time.monotonic()
    resumed = await desk.command("recording_resume", call_id=call_id)
    after_resume = time.monotonic()
    assert resumed["ok"] and resumed["result"]["changed"] is True, resumed
    refused = await desk.command("recording_resume", call_id=call_id)
    assert refused["error"]["code"] == "not_paused", refused
    await desk.wait_for("call_update", call_id=call_id, state="talking", recording_paused=False)
    await asyncio.sleep(2.0)  # both speak, recorded again
    assert (await desk.command("hangup"))["ok"]

    assert (await calling).ok
    call = await centre.log.wait_ended(CALLER.number)
    assert call.linkedid == call_id and call.recording and call.answered_at is not None
    recording = centre.hotline.settings.recordings_dir / call.recording
    audio = read_wav(await _finished_wav(recording))
    assert audio.rate == 8000

    # The tones leave no other second of digital silence than the pause's.
    spans = silence_spans(audio, min_ms=1000)
    assert len(spans) == 1, spans
    start_s, end_s = spans[0]
    silent_s = end_s - start_s
    shortest, longest = before_resume - after_pause, after_resume - before_pause
    assert shortest - 0.15 <= silent_s <= longest + 0.15, (silent_s, shortest, longest)

    async with centre.hotline.sessions() as session:
        events = list(await session.scalars(
            select(CallEvent).where(CallEvent.linkedid == call_id).order_by(CallEvent.at)
        ))  # fmt: skip
    pauses = (CallEventKind.RECORDING_PAUSED, CallEventKind.RECORDING_RESUMED)
    events = [e for e in events if e.kind in pauses]  # the call log adds the call's own
    assert [e.kind for e in events] == list(pauses)  # the double click: one pause
    assert all(e.agent == "1001" for e in events)
    paused_for = (events[1].at - events[0].at).total_seconds()
    assert abs(paused_for - silent_s) < 0.3, (paused_for, silent_s)

    # While the desk had it paused (its events on the file's timeline, which starts at the
    # answer), neither party is heard; both are, before and after: the call was not muted.
    frames = windows(audio, (CALLER_HZ, AGENT_A_HZ))
    pause_at = _epoch(events[0].at) - call.answered_at
    resume_at = _epoch(events[1].at) - call.answered_at
    assert abs(start_s - pause_at) <= 0.5, (start_s, pause_at)
    muted = between(frames, pause_at + EDGE_S, resume_at - EDGE_S)
    assert len(muted) >= 15, (pause_at, resume_at)
    assert tone_share(muted, CALLER_HZ) == 0, "the caller is heard while paused"
    assert tone_share(muted, AGENT_A_HZ) == 0, "the agent is heard while paused"
    before = between(frames, start_s - 1.5, start_s - EDGE_S)
    after = between(frames, end_s + EDGE_S, end_s + 1.5)
    for side in (before, after):
        assert len(side) >= 10, (start_s, end_s, audio.duration_s)
        assert tone_share(side, CALLER_HZ) >= 0.9, "the caller is not heard around the pause"
        assert tone_share(side, AGENT_A_HZ) >= 0.9, "the agent is not heard around the pause"


async def test_asterisk_refuses_to_mute_a_channel_without_a_recording(
    centre: Centre, desk: Desktop
) -> None:
    """MixMonitor runs on the caller's channel only: muting the agent's leg is refused by
    Asterisk in the words `mute_recording` reads as "no recording" (the desk's `no_recording`)."""
    caller = CallerIdentity("孙不录", "13922224444")
    plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=8000)
    calling = asyncio.create_task(centre.call([caller], plan))
    talking = await desk.wait_for("call_update", state="talking", agent_extension="1001",
                                  caller={"number": caller.number, "name": caller.name,
                                          "masked": False}, timeout=30)  # fmt: skip
    call = centre.hotline.tracker.get(talking["call_id"])
    assert call is not None and call.agent_channel
    ami = centre.hotline.ami
    assert await mute_recording(ami, call.agent_channel, True) is False
    assert await mute_recording(ami, call.channel, True) is True
    assert await mute_recording(ami, call.channel, False) is True
    assert (await desk.command("hangup"))["ok"]
    assert (await calling).ok
