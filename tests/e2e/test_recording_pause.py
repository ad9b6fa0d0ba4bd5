"""The agent pauses and resumes a call's recording from the desktop, with a real Asterisk and
a SIPp caller who speaks (RTP from SIPp's G.711 pcap): the MixMonitor file Asterisk writes
holds digital silence for as long as the pause lasted, and speech before and after it; each
pause is an event on the call; Asterisk's own manager says our AMI user may send the action."""

from __future__ import annotations

import asyncio
import string
import time
import wave
from array import array
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from crm.db.call_models import CallEvent
from crm.domain.calls import CallEventKind
from crm.domain.enums import Role
from hotline_cli.demo.sipp import DTMF_PCAPS, CallerIdentity, CallerPlan, _injection_file, run_uac
from telephony.actions import mute_recording
from telephony.asterisk_tables import AMI_WRITE_CLASSES
from tests.e2e.harness import Centre, crm_user
from tests.e2e.test_desktop import Desktop

SCENARIO = Path(__file__).with_name("scenarios") / "caller_speaking.xml"
SPEECH_PCAP = DTMF_PCAPS / "g711a.pcap"
SPEECH_MS = 7080  # the pcap's 236 packets of 30 ms
PLAYS = 3
CALLER = CallerIdentity("钱多多", "13922223333")
RATE = 8000  # MixMonitor's .wav: 8 kHz, 16-bit mono


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


async def _speaking_caller(centre: Centre) -> bool:
    workdir = centre.workdir
    speech = "\n".join(
        f'  <nop><action><exec play_pcap_audio="{SPEECH_PCAP}"/></action></nop>\n'
        f'  <pause milliseconds="{SPEECH_MS}"/>'
        for _ in range(PLAYS)
    )
    scenario = workdir / "caller-speaking.xml"
    scenario.write_text(string.Template(SCENARIO.read_text(encoding="utf-8")).substitute(
        dtmf_pcap=DTMF_PCAPS / "dtmf_2833_1.pcap", speech=speech, hangup_after_ms=500,
    ), encoding="utf-8")  # fmt: skip
    injection = workdir / "caller-speaking.csv"
    injection.write_text(_injection_file([CALLER]), encoding="utf-8")
    s = centre.hotline.settings
    result = await run_uac(
        workdir, scenario, workdir / "caller-speaking.err", target=f"{s.sip.host}:{s.sip.port}",
        service=s.centre.inbound_number, source_ip=s.carrier.match, timeout_s=60,
        extra_args=["-inf", str(injection)],
    )  # fmt: skip
    assert result.ok, result.errors
    return result.ok


def _samples_if_finished(path: Path) -> array[int] | None:
    """The recording's samples once Asterisk closed it (its header's data size is the file's)."""
    if not path.exists():
        return None
    with wave.open(str(path), "rb") as wav:
        frames = wav.getnframes()
        if frames == 0 or 44 + frames * 2 != path.stat().st_size:
            return None
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (RATE, 2, 1)
        samples = array("h")
        samples.frombytes(wav.readframes(frames))
        return samples


async def _finished_wav(path: Path, timeout_s: float = 15) -> array[int]:
    deadline = time.monotonic() + timeout_s
    while (samples := await asyncio.to_thread(_samples_if_finished, path)) is None:
        assert time.monotonic() < deadline, f"{path} not finished in {timeout_s} s"
        await asyncio.sleep(0.2)
    return samples


def _longest_zero_run(samples: array[int]) -> tuple[int, int]:
    """(start, length) of the longest run of digital silence (exact zeros)."""
    best, start, run_start = (0, 0), 0, None
    for index, value in enumerate(samples):
        if value == 0:
            if run_start is None:
                run_start = index
        elif run_start is not None:
            if index - run_start > best[1]:
                best = (run_start, index - run_start)
            run_start = None
        start = index
    if run_start is not None and start + 1 - run_start > best[1]:
        best = (run_start, start + 1 - run_start)
    return best


def _loud_share(samples: array[int]) -> float:
    """The share of 30 ms windows that hold speech (mean magnitude well above A-law's floor of
    8: the pcap's own pauses between words are not digital silence)."""
    window = RATE * 30 // 1000
    chunks = [samples[i : i + window] for i in range(0, len(samples) - window + 1, window)]
    loud = [c for c in chunks if sum(abs(v) for v in c) / window > 100]
    return len(loud) / max(1, len(chunks))


async def test_a_pause_leaves_silence_of_its_length_in_the_recording(
    centre: Centre, desk: Desktop
) -> None:
    privilege = await centre.hotline.asterisk.cli("manager show command MixMonitorMute")
    granted = privilege.split("[Privilege]", 1)[1].split("[", 1)[0]
    assert set(AMI_WRITE_CLASSES) & {c.strip() for c in granted.strip().split(",")}, privilege

    calling = asyncio.create_task(_speaking_caller(centre))
    talking = await desk.wait_for("call_update", state="talking", agent_extension="1001",
                                  timeout=30)  # fmt: skip
    call_id = talking["call_id"]
    assert talking["recording_paused"] is False
    await asyncio.sleep(2.0)  # the caller speaks, recorded

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

    assert await calling
    call = await centre.log.wait_ended(CALLER.number)
    assert call.linkedid == call_id and call.recording
    samples = await _finished_wav(centre.hotline.settings.recordings_dir / call.recording)

    start, length = _longest_zero_run(samples)
    silent_s = length / RATE
    shortest, longest = before_resume - after_pause, after_resume - before_pause
    assert shortest - 0.15 <= silent_s <= longest + 0.15, (silent_s, shortest, longest)
    # Speech on both sides of the silence: the pause muted the recording, not the call.
    around = 3 * RATE // 2
    assert _loud_share(samples[max(0, start - around) : start]) > 0.3
    assert _loud_share(samples[start + length : start + length + around]) > 0.3

    async with centre.hotline.sessions() as session:
        events = list(await session.scalars(
            select(CallEvent).where(CallEvent.linkedid == call_id).order_by(CallEvent.at)
        ))  # fmt: skip
    pauses = (CallEventKind.RECORDING_PAUSED, CallEventKind.RECORDING_RESUMED)
    events = [e for e in events if e.kind in pauses]  # the call log adds the call's own
    assert [e.kind for e in events] == list(pauses)  # the double click: one pause
    assert all(e.agent == "1001" for e in events)
    between = (events[1].at - events[0].at).total_seconds()
    assert abs(between - silent_s) < 0.3, (between, silent_s)


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
