"""The live wall's day figures, counted from the call records alone (pure, no I/O), so that a
restarted backend shows the same day's numbers.

A call counts once, in its queue, at the instant its wait was decided: when an agent answered
it (`answered_at`), or when the caller gave up (`ended_at` of an abandoned call). That instant
places it in a window ("today": the centre's local day in China; "the last hour"), so a call
queued at 23:59:50 and answered at 00:00:10 is one of the new day's calls.

Service level = answered within `goal_s` (15 s, the answer goal) / offered, where
offered = answered + abandoned after waiting at least `short_abandon_s`. A caller who hung up
in under `short_abandon_s` (default 5 s: a misdial, a change of mind) is counted as
`abandoned_short` and is neither offered nor missed; every other abandon is offered and missed
the goal, whether the caller gave up before the 15 s passed or after. Calls that failed (lost
by Asterisk) without an answer are not offered. A call answered by an overflow seat counts in
its own queue like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crm.domain.calls import CallOutcome
from crm.domain.clock import local_date, local_midnight_utc

LAST_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ServiceRule:
    goal_s: float = 15.0
    short_abandon_s: float = 5.0


@dataclass(frozen=True, slots=True)
class CallRow:
    """What the wall needs of one call record; times naive UTC."""

    linkedid: str
    queue: str
    outcome: CallOutcome
    queued_at: datetime | None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    emergency_started_at: datetime | None = None

    @property
    def wait_s(self) -> float | None:
        until = self.answered_at or self.ended_at
        if self.queued_at is None or until is None:
            return None
        return max(0.0, (until - self.queued_at).total_seconds())


@dataclass(frozen=True, slots=True)
class AnsweredRow:
    """An `answered` event: `agent` took the call at `at` (the first agent, or after a
    transfer the next one)."""

    linkedid: str
    agent: str
    at: datetime


@dataclass
class QueueCounts:
    answered: int = 0
    answered_in_goal: int = 0
    abandoned: int = 0
    abandoned_short: int = 0  # gave up in under short_abandon_s: not offered
    longest_wait_s: float = 0.0  # the longest wait decided in the window

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned - self.abandoned_short

    @property
    def service_level(self) -> float | None:
        return None if self.offered == 0 else self.answered_in_goal / self.offered


@dataclass
class AgentCounts:
    calls: int = 0  # calls the agent took (answered) in the window
    talk_total_s: float = 0.0
    talks_ended: int = 0  # the calls whose talk is over, that the average is taken over

    @property
    def average_talk_s(self) -> float | None:
        return None if self.talks_ended == 0 else self.talk_total_s / self.talks_ended


@dataclass(frozen=True)
class DayFigures:
    day_start: datetime  # naive UTC of the local midnight
    today: Mapping[str, QueueCounts]
    last_hour: Mapping[str, QueueCounts]
    agents: Mapping[str, AgentCounts]
    queued_at: Mapping[str, datetime] = field(default_factory=dict)  # calls still in progress
    emergency_started_at: Mapping[str, datetime] = field(default_factory=dict)  # still up


def day_start(now: datetime) -> datetime:
    """The naive UTC instant the centre's local day of `now` (naive UTC) began."""
    return local_midnight_utc(local_date(now))


def decided_at(row: CallRow) -> datetime | None:
    """When the call's wait was decided (answered or given up); None if it was not."""
    if row.answered_at is not None:
        return row.answered_at
    if row.outcome is CallOutcome.ABANDONED:
        return row.ended_at
    return None


def queue_counts(
    rows: Iterable[CallRow], since: datetime, until: datetime, rule: ServiceRule
) -> dict[str, QueueCounts]:
    """Per queue, the calls whose wait was decided in [since, until)."""
    counts: dict[str, QueueCounts] = {}
    for row in rows:
        at = decided_at(row)
        if not row.queue or row.queued_at is None or at is None or not since <= at < until:
            continue
        c = counts.setdefault(row.queue, QueueCounts())
        wait = row.wait_s or 0.0
        c.longest_wait_s = max(c.longest_wait_s, wait)
        if row.answered_at is not None:
            c.answered += 1
            c.answered_in_goal += wait <= rule.goal_s
        else:
            c.abandoned += 1
            c.abandoned_short += wait < rule.short_abandon_s
    return counts


def agent_counts(
    answers: Iterable[AnsweredRow], rows: Mapping[str, CallRow], since: datetime, until: datetime
) -> dict[str, AgentCounts]:
    """Per agent, the calls it took in [since, until) and their talk: from its answer to the
    next agent's answer of the same call (a transfer) or the call's end."""
    by_call: dict[str, list[AnsweredRow]] = {}
    for answer in answers:
        by_call.setdefault(answer.linkedid, []).append(answer)
    counts: dict[str, AgentCounts] = {}
    for linkedid, taken in by_call.items():
        taken.sort(key=lambda a: a.at)
        ended = rows[linkedid].ended_at if linkedid in rows else None
        for i, answer in enumerate(taken):
            if not since <= answer.at < until:
                continue
            c = counts.setdefault(answer.agent, AgentCounts())
            c.calls += 1
            stop = taken[i + 1].at if i + 1 < len(taken) else ended
            if stop is not None:
                c.talk_total_s += max(0.0, (stop - answer.at).total_seconds())
                c.talks_ended += 1
    return counts


def day_figures(
    rows: Iterable[CallRow], answers: Iterable[AnsweredRow], now: datetime, rule: ServiceRule
) -> DayFigures:
    """Today's and the last hour's figures at `now` (naive UTC)."""
    rows = list(rows)
    start = day_start(now)
    until = now + timedelta(microseconds=1)  # `now` itself is in the window
    live = [r for r in rows if r.outcome is CallOutcome.IN_PROGRESS]
    return DayFigures(
        day_start=start,
        today=queue_counts(rows, start, until, rule),
        last_hour=queue_counts(rows, now - LAST_HOUR, until, rule),
        agents=agent_counts(answers, {r.linkedid: r for r in rows}, start, until),
        queued_at={r.linkedid: r.queued_at for r in live if r.queued_at is not None},
        emergency_started_at={
            r.linkedid: r.emergency_started_at for r in live if r.emergency_started_at is not None
        },
    )
