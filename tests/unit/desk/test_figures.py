"""Queue figures for supervisors: waiting now, today's counts and the 15-second service level."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from agent_gateway.desk.figures import QueueFigures
from crm.domain.clock import CHINA_TZ
from telephony.call import Call, CallState


def at(hour: int, minute: int = 0, second: float = 0) -> float:
    return datetime(2026, 10, 9, hour, minute, int(second), tzinfo=CHINA_TZ).timestamp()


def call(linkedid: str, queued: float, **changes: object) -> Call:
    base = Call(linkedid, linkedid, "c", "138", "张三", queued - 5, CallState.QUEUED,
                queue="hotline", queued_at=queued)  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_counts_answered_in_time_late_and_abandoned_once() -> None:
    figures = QueueFigures()
    fast = call("a", at(9), state=CallState.TALKING, answered_at=at(9, 0, 10))
    slow = call("b", at(9), state=CallState.TALKING, answered_at=at(9, 0, 40))
    gone = call("c", at(9), state=CallState.ABANDONED, ended_at=at(9, 1))
    for c in (fast, slow, gone, dataclasses.replace(fast, state=CallState.ENDED)):
        figures.record(c, at(9, 2))
    waiting = [call("d", at(9, 1)), call("e", at(9, 1, 30), state=CallState.RINGING)]
    stats = figures.snapshot("hotline", waiting, {"talking": 2}, at(9, 2))
    assert stats == {
        "queue": "hotline", "waiting": 2, "longest_wait_s": 60.0,
        "agents_by_state": {"talking": 2}, "answered_today": 2, "abandoned_today": 1,
        "goal_s": 15.0, "service_level_15s": round(1 / 3, 3),
    }  # fmt: skip


def test_a_callback_s_placeholder_is_neither_offered_nor_the_longest_wait() -> None:
    """It waits in the caller's place from its own join: the caller's call was counted."""
    figures = QueueFigures()
    served = call("p", at(9), callback="7", state=CallState.TALKING, answered_at=at(9, 0, 5))
    figures.record(served, at(9, 2))
    waiting = [call("q", at(8), callback="8"), call("d", at(9, 1))]
    stats = figures.snapshot("hotline", waiting, {}, at(9, 2))
    assert (stats["waiting"], stats["longest_wait_s"]) == (2, 60.0)
    assert (stats["answered_today"], stats["service_level_15s"]) == (0, None)


def test_a_new_day_starts_from_zero() -> None:
    figures = QueueFigures()
    figures.record(call("a", at(23), state=CallState.TALKING, answered_at=at(23, 0, 5)), at(23))
    tomorrow = at(23) + 2 * 3600
    stats = figures.snapshot("hotline", [], {}, tomorrow)
    assert stats["answered_today"] == 0 and stats["service_level_15s"] is None


def test_calls_still_in_the_ivr_are_not_counted() -> None:
    figures = QueueFigures()
    figures.record(call("a", at(9), queue=""), at(9))
    figures.record(call("b", at(9)), at(9))  # queued, not yet answered or abandoned
    assert figures.snapshot("hotline", [], {}, at(9))["answered_today"] == 0


def test_each_queue_counts_within_its_own_goal() -> None:
    figures = QueueFigures(goals_s={"hotline": 20.0})
    for linkedid, queue in (("a", "hotline"), ("b", "complaint")):
        figures.record(call(linkedid, at(9), queue=queue, state=CallState.TALKING,
                            answered_at=at(9, 0, 18)), at(9, 1))  # fmt: skip
    hotline, complaint = (figures.snapshot(q, [], {}, at(9, 1)) for q in ("hotline", "complaint"))
    assert (hotline["goal_s"], hotline["service_level_15s"]) == (20.0, 1.0)
    assert (complaint["goal_s"], complaint["service_level_15s"]) == (15.0, 0.0)
