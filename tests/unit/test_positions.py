"""Who is told their queue position, and when (pure rules over tracker calls)."""

from __future__ import annotations

import dataclasses

from telephony.call import Call, CallState
from telephony.positions import Announcement, due, positions


def waiting(uid: str, queue: str, at: float, state: CallState = CallState.QUEUED) -> Call:
    return Call(
        linkedid=uid, uniqueid=uid, channel=f"PJSIP/carrier-{uid}", caller_number="139",
        caller_name="", started_at=at - 5, state=state, queue=queue, queued_at=at,
    )  # fmt: skip


def test_positions_follow_join_order_per_queue_counting_callers_being_rung() -> None:
    calls = [
        waiting("c", "hotline", 30.0),
        waiting("a", "hotline", 10.0, CallState.RINGING),
        waiting("x", "complaint", 20.0),
        waiting("b", "hotline", 20.0),
        dataclasses.replace(waiting("t", "hotline", 5.0), state=CallState.TALKING),
    ]
    assert positions(calls, ["hotline", "complaint"]) == {"a": 1, "b": 2, "c": 3, "x": 1}
    assert positions(calls, ["complaint"]) == {"x": 1}


def test_told_on_joining_then_every_period_and_never_while_ringing() -> None:
    calls = [waiting("a", "hotline", 10.0, CallState.RINGING), waiting("b", "hotline", 11.0)]
    assert due(calls, ["hotline"], {}, now=12.0) == [Announcement("b", "hotline", 2)]
    assert due(calls, ["hotline"], {"b": 12.0}, now=41.9, every_s=30) == []
    assert due(calls, ["hotline"], {"b": 12.0}, now=42.0, every_s=30) == [
        Announcement("b", "hotline", 2)
    ]


def test_queues_without_announcements_are_left_alone() -> None:
    assert due([waiting("a", "complaint", 1.0)], ["hotline"], {}, now=2.0) == []
