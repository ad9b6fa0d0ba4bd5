"""Live queue figures for supervisors, from call changes alone (pure, no I/O).

Per queue: callers waiting now and the longest wait, calls answered and abandoned today, and
the service level: the share of today's offered calls (answered + abandoned in queue)
answered within the queue's answer goal (`goals_s`, its `service_level_s`; `SERVICE_LEVEL_S`
for a queue without one). "Today" is the centre's local day. A goal changed live counts the
calls answered from then on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from crm.domain.clock import CHINA_TZ
from telephony.call import Call, CallState

SERVICE_LEVEL_S = 15.0


def local_day(at: float) -> date:
    return datetime.fromtimestamp(at, CHINA_TZ).date()


@dataclass
class DayCounts:
    answered: int = 0
    abandoned: int = 0
    answered_in_time: int = 0

    @property
    def service_level(self) -> float | None:
        offered = self.answered + self.abandoned
        return None if offered == 0 else self.answered_in_time / offered


@dataclass
class QueueFigures:
    """Today's counters per queue; waiting figures are computed from the live calls."""

    day: date | None = None
    counts: dict[str, DayCounts] = field(default_factory=dict)
    goals_s: Mapping[str, float] = field(default_factory=dict)  # queue → its answer goal
    _counted: set[str] = field(default_factory=set)

    def record(self, call: Call, at: float) -> None:
        """Count a call once, when it is answered or abandoned in a queue (a callback's
        placeholder never: the caller's own call was)."""
        self._roll(at)
        if not call.queue or call.callback or call.linkedid in self._counted:
            return
        counts = self.counts.setdefault(call.queue, DayCounts())
        if call.answered_at is not None:
            counts.answered += 1
            if (call.wait_time_s or 0.0) <= self.goal_of(call.queue):
                counts.answered_in_time += 1
        elif call.state is CallState.ABANDONED:
            counts.abandoned += 1
        else:
            return
        self._counted.add(call.linkedid)

    def goal_of(self, queue: str) -> float:
        return self.goals_s.get(queue, SERVICE_LEVEL_S)

    def snapshot(
        self, queue: str, live: Iterable[Call], agents_by_state: Mapping[str, int], now: float
    ) -> dict[str, object]:
        """The `queue_stats` figures of one queue at `now`."""
        self._roll(now)
        waiting = [c for c in live if c.queue == queue and c.in_queue]
        # a placeholder's wait counts from its own join: no caller's longest wait
        waits = [now - c.queued_at for c in waiting if c.queued_at is not None and not c.callback]
        counts = self.counts.get(queue, DayCounts())
        level = counts.service_level
        return {
            "queue": queue,
            "waiting": len(waiting),
            "longest_wait_s": round(max(waits, default=0.0), 1),
            "agents_by_state": dict(agents_by_state),
            "answered_today": counts.answered,
            "abandoned_today": counts.abandoned,
            "goal_s": self.goal_of(queue),
            # the name of when every goal was 15 s, kept for the desktops that read it
            "service_level_15s": None if level is None else round(level, 3),
        }

    def _roll(self, at: float) -> None:
        day = local_day(at)
        if day != self.day:
            self.day = day
            self.counts.clear()
            self._counted.clear()
