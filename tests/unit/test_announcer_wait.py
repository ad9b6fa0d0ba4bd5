"""The announcer keeps its queue's answers from the tracker's calls and sends the wait
sentence with the whisper (pure unit: a recording stand-in for AMI, no Asterisk)."""

from __future__ import annotations

import time
from dataclasses import replace

from telephony.announcer import PositionAnnouncer
from telephony.call import Call, CallChanged, CallState
from telephony.dialplan import CONTEXT_POSITION
from telephony.positions import Announcement
from telephony.tracker import CallTracker


class Ami:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def action(self, name: str, timeout: float = 10.0, **headers: str) -> dict[str, str]:
        self.sent.append({"Action": name, **headers})
        return {"Response": "Success"}


def call(n: int, queued_at: float, state: CallState = CallState.QUEUED) -> Call:
    return Call(f"L{n}", f"U{n}", f"PJSIP/carrier-{n}", "13900000000", "", queued_at - 5,
                state=state, queue="hotline", queued_at=queued_at)  # fmt: skip


async def answered(announcer: PositionAnnouncer, c: Call, at: float, previous: CallState) -> None:
    done = replace(c, state=CallState.TALKING, answered_at=at)
    await announcer.on_call(CallChanged(done, previous, None))


async def test_answers_from_the_queue_make_the_whisper_say_the_wait() -> None:
    now = time.time()
    ami, tracker = Ami(), CallTracker()
    announcer = PositionAnnouncer(ami, tracker, ["hotline"], CONTEXT_POSITION)
    for i in range(4):  # a backlog answered every 20 s
        await answered(announcer, call(i, now - 300), now - 80 + 20 * i, CallState.RINGING)
    # A call rebuilt at a re-sync (no previous state) is no answer seen.
    await answered(announcer, call(9, now - 5), now - 1, CallState.IN_IVR)
    waiting = call(5, now - 30)
    tracker.calls[waiting.linkedid] = waiting
    await announcer._announce(Announcement(waiting.uniqueid, "hotline", 2))
    assert len(announcer.answers["hotline"]) == 4
    assert ami.sent[-1]["Variable"] == "HOTLINE_WAIT=under"  # 2 x 20 s
    assert ami.sent[-1]["Channel"] == f"Local/2@{CONTEXT_POSITION}/n"


async def test_without_answers_the_whisper_says_only_the_position() -> None:
    ami, tracker = Ami(), CallTracker()
    announcer = PositionAnnouncer(ami, tracker, ["hotline"], CONTEXT_POSITION)
    await announcer._announce(Announcement("U1", "hotline", 1))
    assert "Variable" not in ami.sent[-1]


async def test_a_caller_waiting_past_the_threshold_is_offered_the_callback_key() -> None:
    now = time.time()
    ami, tracker = Ami(), CallTracker()
    announcer = PositionAnnouncer(ami, tracker, ["hotline"], CONTEXT_POSITION, offer_after_s=60)
    long_ = replace(call(1, now - 90), linkedid="U1", first_queued_at=str(int(now - 90)))
    short = replace(call(2, now - 10), linkedid="U2", first_queued_at=str(int(now - 10)))
    withheld = replace(long_, linkedid="U3", uniqueid="U3", caller_number="")
    for c in (long_, short, withheld):
        tracker.calls[c.linkedid] = c
    for c in (long_, short, withheld):
        await announcer._announce(Announcement(c.uniqueid, "hotline", 1))
    assert [sent.get("Variable", "") for sent in ami.sent] == ["HOTLINE_OFFER=1", "", ""]
    never = PositionAnnouncer(Ami(), tracker, ["hotline"], CONTEXT_POSITION)  # no trunk
    await never._announce(Announcement("U1", "hotline", 1))
    assert never.ami.sent[-1].get("Variable", "") == ""  # type: ignore[attr-defined]
