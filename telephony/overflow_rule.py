"""When a queue's overflow seats are in (pure): started when the longest wait reaches the start
wait **or** the callers waiting reach the start number; stopped once the longest wait is at
most the stop wait **and** at most the stop number wait. Between the two the seats stay as
they are (hysteresis: the settings' checks keep each stop threshold below its start one)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from telephony.call import Call


class Thresholds(Protocol):
    """A queue's overflow thresholds (`config.telephony_sections.OverflowSeats` has them)."""

    @property
    def start_wait_s(self) -> int: ...
    @property
    def start_waiting(self) -> int: ...
    @property
    def stop_wait_s(self) -> int: ...
    @property
    def stop_waiting(self) -> int: ...


@dataclass(frozen=True)
class Pressure:
    """A queue's live figures: callers waiting (queued or ringing) and the longest wait."""

    waiting: int
    longest_wait_s: float


@dataclass(frozen=True)
class Decision:
    on: bool
    reason: str  # in Chinese, for the supervisors: the figures against the thresholds


def pressure_of(calls: Iterable[Call], queue: str, now: float) -> Pressure:
    """The figures of `queue` at `now` (epoch seconds) from the tracker's live calls."""
    waits = [
        now - c.queued_at
        for c in calls
        if c.queue == queue and c.in_queue and c.queued_at is not None
    ]
    return Pressure(len(waits), max(waits, default=0.0))


def decide(limits: Thresholds, pressure: Pressure, on_now: bool) -> Decision:
    """Whether the seats are in after this look at the queue, and why."""
    wait, waiting = int(pressure.longest_wait_s), pressure.waiting
    if not on_now:
        if wait >= limits.start_wait_s:
            return Decision(True, f"最长等待 {wait} 秒，达到启用阈值 {limits.start_wait_s} 秒")
        if waiting >= limits.start_waiting:
            return Decision(True, f"排队 {waiting} 人，达到启用阈值 {limits.start_waiting} 人")
        return Decision(False, "未达到启用阈值")
    if wait <= limits.stop_wait_s and waiting <= limits.stop_waiting:
        return Decision(
            False,
            f"排队 {waiting} 人、最长等待 {wait} 秒，已降至停用阈值"
            f"（{limits.stop_waiting} 人、{limits.stop_wait_s} 秒）",
        )
    return Decision(True, "未降至停用阈值")
