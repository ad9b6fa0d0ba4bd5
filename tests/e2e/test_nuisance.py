"""Nuisance numbers (骚扰电话) on the real Asterisk with SIPp callers: a caller not on the list
goes through; its number added to the list live (`Hotline.apply_settings`, while it talks),
that call goes on to its end, and its next call hears the refusal prompt (the RTP Asterisk
sends it, compared with the prompt's file), is hung up by the centre, never queued, and its
call record says it was refused as a nuisance; a number whose entry has expired goes through."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from config.settings import Settings
from crm.domain.calls import CallEventKind, CallOutcome
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan, CallerResult
from telephony.call import Call, CallState
from tests.e2e.harness import Centre, running_centre
from tests.e2e.queue_support import call_record, ended_record
from tests.support.audio import Audio, read_wav
from tests.support.polling import eventually
from tests.support.rtp_capture import RtpCapture

pytestmark = pytest.mark.e2e

LISTED = "13900000071"  # added live, written with the international prefix in the list
EXPIRED = "13900000072"  # on the list until yesterday
CALLER_WAITS_MS = 40_000  # a refused caller would stay this long: the centre hangs up first
FRAME = 160  # 20 ms at 8 kHz


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    async with running_centre(tmp_path_factory.mktemp("nuisance")) as centre:
        yield centre


@pytest.fixture
def rtp() -> Iterator[RtpCapture]:
    with RtpCapture().running() as capture:
        yield capture


def with_nuisance(old: Settings, entries: Sequence[dict[str, Any]]) -> Settings:
    return Settings.model_validate(old.model_dump() | {"nuisance": list(entries)})


def calling(centre: Centre, number: str, plan: CallerPlan) -> asyncio.Task[CallerResult]:
    return asyncio.create_task(centre.call([CallerIdentity("市民", number)], plan))


async def next_call(centre: Centre, number: str, before: set[str], timeout: float = 20) -> Call:
    """The first state of a call from `number` that is none of `before` (Linkedids)."""
    effect = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.linkedid not in before, timeout
    )
    return effect.call


async def rtp_dest(centre: Centre, channel: str) -> str:
    """Where Asterisk sends the channel's RTP, once it knows (the call is seen at its
    Newchannel, before the media is set up)."""
    dest = ""

    async def known() -> bool:
        nonlocal dest
        answer = await centre.hotline.ami.action(
            "Getvar", Channel=channel, Variable="CHANNEL(rtp,dest)"
        )
        dest = answer.get("Value", "")
        return ":" in dest

    await eventually(known, 5, f"the RTP destination of {channel}", poll_s=0.02)
    return dest


async def ended(centre: Centre, linkedid: str, timeout: float = 30) -> Call:
    effect = await centre.log.wait_for(
        lambda e: e.call.linkedid == linkedid and not e.call.active, timeout
    )
    return effect.call


def states(centre: Centre, linkedid: str) -> set[CallState]:
    return {e.call.state for e in centre.log.effects if e.call.linkedid == linkedid}


def envelope(audio: Audio) -> list[float]:
    """Mean loudness of each 20 ms frame."""
    s = audio.samples
    return [sum(map(abs, s[i : i + FRAME])) / FRAME for i in range(0, len(s) - FRAME + 1, FRAME)]


def correlation(a: Sequence[float], b: Sequence[float]) -> float:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    var = math.sqrt(sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b))
    return cov / var if var else 0.0


def best_match(heard: Sequence[float], prompt: Sequence[float], max_lag: int = 75) -> float:
    """How well what the caller heard follows the prompt, started up to 1.5 s into it (the
    capture begins once the call is seen, the prompt is already playing)."""
    return max(correlation(heard, prompt[lag:]) for lag in range(max_lag))


async def test_a_number_added_live_is_refused_with_the_message_on_its_next_call(
    centre: Centre, rtp: RtpCapture
) -> None:
    hotline = centre.hotline
    goes_through = CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=5000)
    first = calling(centre, LISTED, goes_through)
    before = await next_call(centre, LISTED, set())
    talking = (await centre.log.wait_for(
        lambda e: e.call.linkedid == before.linkedid
        and (e.call.answered_at is not None or not e.call.active), 20,
    )).call  # fmt: skip
    assert talking.answered_at is not None, f"not on the list yet, yet not answered: {talking}"

    yesterday = datetime.now(UTC) - timedelta(days=1)
    entries = [
        {"number": "0086" + LISTED, "reason": "多次辱骂话务员"},
        {"number": EXPIRED, "reason": "恶意占线", "until": yesterday.isoformat()},
    ]
    change = await hotline.apply_settings(with_nuisance(hotline.settings, entries))
    assert change.plan.empty  # nothing for Asterisk to reload: the IVR reads the list per call

    refused_plan = CallerPlan(dtmf=None, hangup_after_ms=CALLER_WAITS_MS)
    placed = time.monotonic()
    refused_task = calling(centre, LISTED, refused_plan)
    expired_task = calling(centre, EXPIRED, goes_through)
    refused = await next_call(centre, LISTED, {before.linkedid})
    key = rtp.watch(await rtp_dest(centre, refused.channel))
    start = time.time()
    refused_end = (await centre.log.wait_for(
        lambda e: e.call.linkedid == refused.linkedid
        and (not e.call.active or e.call.state is CallState.QUEUED), 30,
    )).call  # fmt: skip
    heard_until = time.time()
    assert refused_end.state is CallState.ENDED, f"a refused caller queued: {refused_end}"
    assert (await refused_task).ok  # SIPp answered the centre's BYE: nothing failed
    assert time.monotonic() - placed < CALLER_WAITS_MS / 1000 / 2, "the caller hung up, not us"

    assert CallState.QUEUED not in states(centre, refused.linkedid)
    assert refused_end.queued_at is None and refused_end.answered_at is None
    row = await ended_record(centre, refused.linkedid)
    kinds = (await call_record(centre, refused.linkedid))[1]
    assert row.outcome is CallOutcome.NUISANCE
    assert row.end_reason == "refused in IVR: nuisance"
    assert row.queued_at is None and CallEventKind.QUEUED not in kinds

    prompt = read_wav(hotline.layout.prompts / "hotline-nuisance.wav")
    heard = rtp.audio(key, start, heard_until)
    # all of the prompt after the first moments reached the caller, then the call ended
    assert prompt.duration_s - 2.5 < heard.duration_s < prompt.duration_s + 0.5, heard.duration_s
    assert best_match(envelope(heard), envelope(prompt)) > 0.9

    expired = await next_call(centre, EXPIRED, set())
    expired_row = await ended_record(centre, expired.linkedid)
    assert expired_row.outcome is CallOutcome.ANSWERED  # an entry past its until lets through
    assert (await expired_task).ok
    # the call that was talking while the list changed went on to its end
    assert (await first).ok and (await ended(centre, before.linkedid)).answered_at is not None
