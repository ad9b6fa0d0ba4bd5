"""The live wall's day figures, counted from the call records alone (pure, no I/O), so that a
restarted backend shows the same day's numbers.

A call counts once, in its queue, at the instant its wait was decided: when an agent answered
it (`answered_at`), or when the caller gave up (`ended_at` of an abandoned call). That instant
places it in a window ("today": the centre's local day in China; "the last hour"), so a call
queued at 23:59:50 and answered at 00:00:10 is one of the new day's calls.

Service level = answered within the queue's answer goal (its `service_level_s`, 15 s by
default; `ServiceRule.goal_of`) / offered, where
offered = answered + abandoned after waiting at least `short_abandon_s`. A caller who hung up
in under `short_abandon_s` (default 5 s: a misdial, a change of mind) is counted as
`abandoned_short` and is neither offered nor missed; every other abandon is offered and missed
the goal, whether the caller gave up before the goal passed or after. A caller the queue timed
out (after its `max_wait_s`: recorded as `failed`, ended while queued) is offered and missed
(`timed_out`); only the calls lost by Asterisk (`lost_by_asterisk`) are not offered. A call
answered by an overflow seat counts in its own queue like any other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crm.domain.calls import CallOutcome, lost_by_asterisk
from crm.domain.clock import local_date, local_midnight_utc
from crm.domain.survey import SATISFIED_ANSWERS, SurveyAnswer, satisfaction_of

LAST_HOUR = timedelta(hours=1)
PRUNE_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ServiceRule:
    goal_s: float = 15.0  # the answer goal of a queue without its own (no more configured)
    short_abandon_s: float = 5.0
    queue_goals_s: Mapping[str, float] = field(default_factory=dict)  # queue → its own goal

    def goal_of(self, queue: str) -> float:
        return self.queue_goals_s.get(queue, self.goal_s)


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
    end_reason: str = ""
    survey: SurveyAnswer | None = None
    talk_s: float | None = None  # the record's: until the agent's hang-up (not the survey)

    @property
    def talk_ended_at(self) -> datetime | None:
        """When the talk ended: the answer plus the record's talk, else the call's end."""
        if self.answered_at is None or self.talk_s is None:
            return self.ended_at
        return self.answered_at + timedelta(seconds=self.talk_s)

    @property
    def timed_out(self) -> bool:
        """Ended while queued, yet neither answered, nor given up, nor lost by Asterisk."""
        return (
            self.outcome is CallOutcome.FAILED and self.queued_at is not None
            and self.answered_at is None and not lost_by_asterisk(self.end_reason)
        )  # fmt: skip

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
    timed_out: int = 0  # the queue ended the wait: offered and missed
    longest_wait_s: float = 0.0  # the longest wait decided in the window
    surveyed: int = 0  # answered calls whose caller answered the survey (1/2/3)
    satisfied: int = 0  # of those, satisfied or basically satisfied

    @property
    def offered(self) -> int:
        return self.answered + self.abandoned - self.abandoned_short + self.timed_out

    @property
    def service_level(self) -> float | None:
        return None if self.offered == 0 else self.answered_in_goal / self.offered

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率: satisfied + basically satisfied / survey answers (no answer not counted)."""
        return None if self.surveyed == 0 else self.satisfied / self.surveyed


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
    if row.outcome is CallOutcome.ABANDONED or row.timed_out:
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
            c.answered_in_goal += wait <= rule.goal_of(row.queue)
            c.surveyed += satisfaction_of(row.survey) is not None
            c.satisfied += row.survey in SATISFIED_ANSWERS
        elif row.timed_out:
            c.timed_out += 1
        else:
            c.abandoned += 1
            c.abandoned_short += wait < rule.short_abandon_s
    return counts


def agent_counts(
    answers: Iterable[AnsweredRow], rows: Mapping[str, CallRow], since: datetime, until: datetime
) -> dict[str, AgentCounts]:
    """Per agent, the calls it took in [since, until) and their talk: from its answer to the
    next agent's answer of the same call (a transfer) or the talk's end (the survey after the
    agent's hang-up is no talk)."""
    by_call: dict[str, list[AnsweredRow]] = {}
    for answer in answers:
        by_call.setdefault(answer.linkedid, []).append(answer)
    counts: dict[str, AgentCounts] = {}
    for linkedid, taken in by_call.items():
        taken.sort(key=lambda a: a.at)
        ended = rows[linkedid].talk_ended_at if linkedid in rows else None
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


def _add(into: QueueCounts, part: QueueCounts, sign: int) -> None:
    into.answered += sign * part.answered
    into.answered_in_goal += sign * part.answered_in_goal
    into.abandoned += sign * part.abandoned
    into.abandoned_short += sign * part.abandoned_short
    into.timed_out += sign * part.timed_out
    into.surveyed += sign * part.surveyed
    into.satisfied += sign * part.satisfied
    if sign > 0:  # a decided wait never changes (first known wins): the longest only grows
        into.longest_wait_s = max(into.longest_wait_s, part.longest_wait_s)


def _add_agent(into: AgentCounts, part: AgentCounts, sign: int) -> None:
    into.calls += sign * part.calls
    into.talk_total_s += sign * part.talk_total_s
    into.talks_ended += sign * part.talks_ended


def _keep_if(kept: dict[str, CallRow], row: CallRow, keep: bool) -> None:
    if keep:
        kept[row.linkedid] = row
    else:
        kept.pop(row.linkedid, None)


class DayCounter:
    """The day's figures kept up to date as records arrive (pure), so that a round of the
    wall costs what changed, not the whole day: each call's share of today's figures is kept
    and replaced when its record or its answers change; the last hour is counted over the
    calls decided in it (kept apart, as are the calls in progress). Rows older than the
    windows are forgotten, once a minute."""

    def __init__(self, rule: ServiceRule) -> None:
        self.rule = rule
        self.day: datetime | None = None
        self.rows: dict[str, CallRow] = {}
        self.answers: dict[str, set[AnsweredRow]] = {}
        self.today: dict[str, QueueCounts] = {}
        self.agents: dict[str, AgentCounts] = {}
        self._queue_part: dict[str, tuple[str, QueueCounts]] = {}
        self._agent_part: dict[str, dict[str, AgentCounts]] = {}
        self._recent: dict[str, CallRow] = {}  # decided, in the last hour once pruned
        self._live: dict[str, CallRow] = {}  # in progress
        self._pruned_at: datetime | None = None

    def follow(self, rule: ServiceRule) -> None:
        """Count by `rule` from now on, today's calls counted again (a goal changed live)."""
        self.rule, self.day = rule, None

    def update(self, rows: Iterable[CallRow], answers: Iterable[AnsweredRow]) -> None:
        touched = set()
        for row in rows:
            self.rows[row.linkedid] = row
            touched.add(row.linkedid)
            _keep_if(self._recent, row, decided_at(row) is not None)
            _keep_if(self._live, row, row.outcome is CallOutcome.IN_PROGRESS)
        for answer in answers:
            self.answers.setdefault(answer.linkedid, set()).add(answer)
            touched.add(answer.linkedid)
        if self.day is not None:
            for linkedid in touched:
                self._recount(linkedid)

    def figures(self, now: datetime) -> DayFigures:
        """Today's and the last hour's figures at `now` (naive UTC)."""
        start, hour_ago = day_start(now), now - LAST_HOUR
        if start != self.day:  # a new day (or the first round): counted again from the rows
            self.day, self.today, self.agents = start, {}, {}
            self._queue_part, self._agent_part = {}, {}
            for linkedid in list({*self.rows, *self.answers}):
                self._recount(linkedid)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._forget_before(min(start, hour_ago))
            self._pruned_at = now
        for linkedid, row in list(self._recent.items()):
            if (decided_at(row) or now) < hour_ago:
                del self._recent[linkedid]
        recent, live = self._recent.values(), self._live.values()
        today = self.today.items()
        return DayFigures(
            day_start=start,
            today={q: dataclasses.replace(c) for q, c in today if c.answered or c.abandoned},
            last_hour=queue_counts(recent, hour_ago, now + timedelta(microseconds=1), self.rule),
            agents={a: dataclasses.replace(c) for a, c in self.agents.items() if c.calls},
            queued_at={r.linkedid: r.queued_at for r in live if r.queued_at is not None},
            emergency_started_at={
                r.linkedid: at for r in live if (at := r.emergency_started_at) is not None
            },
        )

    def _recount(self, linkedid: str) -> None:
        """Replace the call's share of today's figures by what its record says now."""
        assert self.day is not None
        if (old := self._queue_part.pop(linkedid, None)) is not None:
            _add(self.today[old[0]], old[1], -1)
        for agent, part in self._agent_part.pop(linkedid, {}).items():
            _add_agent(self.agents[agent], part, -1)
        row = self.rows.get(linkedid)
        if row is not None:
            for queue, share in queue_counts([row], self.day, datetime.max, self.rule).items():
                _add(self.today.setdefault(queue, QueueCounts()), share, 1)
                self._queue_part[linkedid] = (queue, share)
        rows = {linkedid: row} if row is not None else {}
        taken = self.answers.get(linkedid, set())
        parts = agent_counts(taken, rows, self.day, datetime.max)
        for agent, part in parts.items():
            _add_agent(self.agents.setdefault(agent, AgentCounts()), part, 1)
        if parts:
            self._agent_part[linkedid] = parts

    def _forget_before(self, since: datetime) -> None:
        """Drop the calls over before `since` (their share of today stays counted)."""
        for linkedid, row in list(self.rows.items()):
            over = row.ended_at or decided_at(row)
            if row.outcome is not CallOutcome.IN_PROGRESS and (over is None or over < since):
                del self.rows[linkedid]
                self._recent.pop(linkedid, None)
                self._queue_part.pop(linkedid, None)
                self._agent_part.pop(linkedid, None)
                self.answers.pop(linkedid, None)
        for linkedid in [k for k in self.answers if k not in self.rows]:
            if all(a.at < since for a in self.answers[linkedid]):
                del self.answers[linkedid]
                self._agent_part.pop(linkedid, None)
