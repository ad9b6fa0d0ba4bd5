"""The overflow seats' rule, case by case: start on the longest wait OR the callers waiting,
stop only once both are at or below the stop thresholds, and in between stay as they are."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from telephony.call import Call, CallState
from telephony.overflow_rule import Pressure, decide, pressure_of


@dataclass(frozen=True)
class Limits:
    start_wait_s: int = 30
    start_waiting: int = 3
    stop_wait_s: int = 10
    stop_waiting: int = 1


LIMITS = Limits()


@pytest.mark.parametrize(
    ("waiting", "longest", "on"),
    [
        (0, 0.0, False),  # nobody waits
        (2, 29.9, False),  # below both start thresholds (29.9 s is 29 whole seconds)
        (1, 30.0, True),  # the longest wait reaches 30 s alone
        (3, 0.5, True),  # three callers waiting, none long
        (5, 45.0, True),  # both
    ],
)
def test_seats_off_start_on_either_threshold(waiting: int, longest: float, on: bool) -> None:
    assert decide(LIMITS, Pressure(waiting, longest), on_now=False).on is on


@pytest.mark.parametrize(
    ("waiting", "longest", "on"),
    [
        (2, 5.0, True),  # below the start number but above the stop number: stay in
        (1, 20.0, True),  # one caller, but waiting longer than the stop wait: stay in
        (1, 10.9, False),  # both at the stop thresholds (10 whole seconds, 1 caller): out
        (0, 0.0, False),  # drained
        (1, 11.0, True),  # one second over the stop wait
    ],
)
def test_seats_on_stop_only_below_both_stop_thresholds(
    waiting: int, longest: float, on: bool
) -> None:
    assert decide(LIMITS, Pressure(waiting, longest), on_now=True).on is on


def test_the_reason_names_the_figure_and_its_threshold() -> None:
    by_count = decide(LIMITS, Pressure(3, 2.0), on_now=False)
    assert by_count.reason == "排队 3 人，达到启用阈值 3 人"
    by_wait = decide(LIMITS, Pressure(1, 31.2), on_now=False)
    assert by_wait.reason == "最长等待 31 秒，达到启用阈值 30 秒"
    drained = decide(LIMITS, Pressure(0, 0.0), on_now=True)
    assert drained.reason == "排队 0 人、最长等待 0 秒，已降至停用阈值（1 人、10 秒）"


def call(linkedid: str, queue: str, state: CallState, queued_at: float | None) -> Call:
    return Call(linkedid, linkedid, f"PJSIP/carrier-{linkedid}", "139", "市民", 0.0,
                state=state, queue=queue, queued_at=queued_at)  # fmt: skip


def test_the_pressure_counts_queued_and_ringing_callers_of_the_queue_only() -> None:
    calls = [
        call("a", "hotline", CallState.QUEUED, 100.0),
        call("b", "hotline", CallState.RINGING, 110.0),
        call("c", "hotline", CallState.TALKING, 90.0),  # answered: not waiting
        call("d", "complaint", CallState.QUEUED, 50.0),  # another queue
        call("e", "", CallState.IN_IVR, None),
    ]
    assert pressure_of(calls, "hotline", now=125.0) == Pressure(2, 25.0)
    assert pressure_of(calls, "nobody", now=125.0) == Pressure(0, 0.0)
