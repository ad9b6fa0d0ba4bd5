"""The recordings Asterisk writes, checked as audio: SIPp callers and agent phones each send
their own tone (tests/support/audio.py), and the file MixMonitor wrote must last as long as
the conversation and hold both parties' voices, across a blind transfer too.

What is checked is Asterisk's output on disk; the call's times come from Asterisk's own event
timestamps (through the tracker, and DialEnd on a login of the test's own), the file's length
from its samples.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.actions import blind_transfer
from telephony.ami import AmiClient
from telephony.ami_connection import AmiEvent
from telephony.call import Call, CallState
from telephony.dialplan import CONTEXT_AGENTS
from tests.e2e.harness import Centre, running_centre
from tests.support.audio import (
    AGENT_A_HZ,
    AGENT_B_HZ,
    AGENT_C_HZ,
    CALLER_HZ,
    Audio,
    Window,
    between,
    read_wav,
    tone_pcap,
    tone_share,
    wav_finished,
    windows,
)

PHONE_TONES = {"1001": AGENT_A_HZ, "1002": AGENT_B_HZ, "1901": AGENT_C_HZ}
SPEAK_S = 40.0  # every pcap outlasts the longest call below: SIPp plays it for its length
EDGE_S = 0.4  # at the file's start and end the two directions may be a packet or two apart


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    """A hotline whose agents' phones each speak their own tone into every call they take."""
    tones = tmp_path_factory.mktemp("tones")
    audio = {ext: tone_pcap(tones / f"{ext}.pcap", hz, SPEAK_S) for ext, hz in PHONE_TONES.items()}
    async with running_centre(tmp_path_factory.mktemp("centre"), phone_audio=audio) as centre:
        yield centre


@pytest.fixture(scope="module")
def caller_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tone_pcap(tmp_path_factory.mktemp("caller") / "caller.pcap", CALLER_HZ, SPEAK_S)


async def finished_recording(centre: Centre, call: Call, timeout_s: float = 30) -> Path:
    """The call's file once MixMonitor has closed it (header sizes agree with the file)."""
    assert call.recording, "the call names no recording"
    path = centre.hotline.settings.recordings_dir / call.recording
    async with asyncio.timeout(timeout_s):
        while True:
            if await asyncio.to_thread(wav_finished, path):
                return path
            await asyncio.sleep(0.1)


@asynccontextmanager
async def ami_events(centre: Centre) -> AsyncIterator[list[dict[str, str]]]:
    """Asterisk's own events, on a login of the test's own."""
    s = centre.hotline.settings.ami
    events: list[dict[str, str]] = []

    async def collect(ami: AmiClient) -> None:
        while True:
            item = await ami.events.get()
            if isinstance(item, AmiEvent):
                events.append(dict(item.headers))

    secret = s.secret.get_secret_value()
    async with AmiClient(host=s.host, port=s.port, username=s.username, secret=secret) as ami:
        await ami.wait_connected(10)
        task = asyncio.create_task(collect(ami))
        try:
            yield events
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def answered_by(events: list[dict[str, str]], ext: str, timeout_s: float = 10) -> float:
    """Asterisk's timestamp of `ext`'s phone answering a Dial (DialEnd ANSWER)."""
    async with asyncio.timeout(timeout_s):
        while True:
            for e in events:
                if (
                    e.get("Event") == "DialEnd"
                    and e.get("DestChannel", "").startswith(f"PJSIP/{ext}-")
                    and e.get("DialStatus") == "ANSWER"
                ):
                    return float(e["Timestamp"])
            await asyncio.sleep(0.05)


def party(ext_interface: str) -> tuple[str, float]:
    ext = ext_interface.rsplit("/", 1)[-1]
    return ext, PHONE_TONES[ext]


def inner(frames: list[Window], audio: Audio) -> list[Window]:
    return between(frames, EDGE_S, audio.duration_s - EDGE_S)


async def test_recording_lasts_the_talk_and_holds_both_voices(
    centre: Centre, caller_audio: Path
) -> None:
    number = "13900001101"
    result = await centre.call(
        [CallerIdentity("周一", number)],
        CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=7000, audio=caller_audio),
    )
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number, timeout=30)
    assert call.state is CallState.ENDED and call.talk_time_s is not None
    audio = read_wav(await finished_recording(centre, call))

    assert audio.rate == 8000
    assert abs(audio.duration_s - call.talk_time_s) <= 0.5, (audio.duration_s, call.talk_time_s)
    _, agent_hz = party(call.agent_interface)
    talk = inner(windows(audio), audio)
    assert len(talk) >= 20  # seconds of conversation, not a stub
    assert tone_share(talk, CALLER_HZ) >= 0.9, "the caller is not heard in the recording"
    assert tone_share(talk, agent_hz) >= 0.9, "the agent is not heard in the recording"
    others = set(PHONE_TONES.values()) - {agent_hz}
    assert all(tone_share(talk, hz) == 0 for hz in others)


async def test_blind_transfer_is_one_recording_of_both_agents(
    centre: Centre, caller_audio: Path
) -> None:
    number = "13900001102"
    async with ami_events(centre) as events:
        calling = asyncio.create_task(
            centre.call(
                [CallerIdentity("周二", number)],
                CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=12_000, audio=caller_audio),
            )
        )
        talking = await centre.log.wait_for(
            lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 30
        )
        first_ext, first_hz = party(talking.call.agent_interface)
        second_ext = "1002" if first_ext == "1001" else "1001"
        second_hz = PHONE_TONES[second_ext]
        await asyncio.sleep(3.0)  # the first agent talks for a while
        # Being written, the file is there but its header does not yet agree with its size.
        recording = centre.hotline.settings.recordings_dir / talking.call.recording
        assert recording.stat().st_size > 8000 and not wav_finished(recording)
        agent_channel = talking.call.agent_channel
        await blind_transfer(centre.hotline.ami, agent_channel, CONTEXT_AGENTS, second_ext)
        transferred = await centre.log.wait_for(
            lambda e: e.call.caller_number == number and e.call.state is CallState.TRANSFERRED, 10
        )
        result = await asyncio.wait_for(calling, 40)
        assert result.ok, result.errors
        second_answered_at = await answered_by(events, second_ext)
    call = await centre.log.wait_ended(number, timeout=30)
    assert call.recording == talking.call.recording  # one file for the whole call
    audio = read_wav(await finished_recording(centre, call))
    frames = windows(audio)

    assert transferred.cause is not None and talking.call.answered_at is not None
    first_s = transferred.cause.at - talking.call.answered_at  # Asterisk's clock
    first_part = between(frames, EDGE_S, first_s - EDGE_S)
    second_part = between(frames, first_s + 2 * EDGE_S, audio.duration_s - EDGE_S)
    assert len(first_part) >= 15 and len(second_part) >= 15, (first_s, audio.duration_s)
    assert tone_share(first_part, first_hz) >= 0.9, "agent A is not in the first part"
    assert tone_share(first_part, second_hz) == 0
    assert tone_share(second_part, second_hz) >= 0.9, "agent B is not in the later part"
    assert tone_share(second_part, first_hz) == 0
    assert tone_share(between(frames, EDGE_S, audio.duration_s - EDGE_S), CALLER_HZ) >= 0.9
    # The file lasts both talks (not the ring in between: b, bridged audio only).
    assert call.ended_at is not None
    talks = first_s + (call.ended_at - second_answered_at)
    assert abs(audio.duration_s - talks) <= 0.5, (audio.duration_s, talks)
