"""The supervisors' live wall built from the day's call records and the live state (pure).

What is decided is counted from the records (`crm.domain.wall_figures`: answered within the
goal, abandoned, talk, calls per agent), so a restarted backend shows the same day's figures;
what is live now comes from the desk's own state: callers waiting (their wait from the
record's `queued_at` when the record knows it, since the tracker's is the re-sync's after a
restart), agents by state with time in state (the presence machine), the emergency clocks.
Wrap-up times exist only in the presence machine: `WrapUpTally` adds them up per agent and
day, and the publisher keeps the tally in Redis so that a restart keeps it too.

Alerts (`wall_alerts`): a queue's longest current wait past its threshold, an agent paused
longer than allowed for the reason, an emergency clock within `emergency_warn_s` of its limit.
Each occurrence is raised once (its `raised_at` stays while it lasts) and cleared when over.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from agent_gateway.desk.presence import AgentPresence
from agent_gateway.edge.protocol import PresenceState
from agent_gateway.edge.wall_message import (
    Wall,
    WallAgent,
    WallAlert,
    WallCall,
    WallCounts,
    WallEmergency,
    WallQueue,
    WallTrunk,
)
from crm.domain.clock import local_date
from crm.domain.deadlines import EMERGENCY_TRANSFER_LIMIT
from crm.domain.wall_figures import DayFigures, QueueCounts, ServiceRule
from telephony.call import CONNECTED, WAITING, Call, CallState
from telephony.dialplan import extension_of

EMERGENCY_LIMIT_S = EMERGENCY_TRANSFER_LIMIT.total_seconds()
LIVE = WAITING | CONNECTED  # the calls the wall lists


@dataclass(frozen=True)
class Thresholds:
    longest_wait_alert_s: float = 60.0
    pause_alert_s: float = 900.0  # any pause reason without its own limit
    pause_alert_s_by_reason: Mapping[str, float] = field(default_factory=dict)
    emergency_warn_s: float = 120.0  # [emergency] warn_before_s

    def pause_limit(self, reason: str | None) -> float:
        return self.pause_alert_s_by_reason.get(reason or "", self.pause_alert_s)


@dataclass(frozen=True)
class LiveFloor:
    """What the desk knows now."""

    queues: list[str]
    presences: Mapping[str, AgentPresence]
    members: Mapping[str, set[str]]  # extension → the queues it is a member of
    # extension → the queues it is configured to serve: one of them it is no member of now
    # counts the agent as logged out there (Asterisk lists only members)
    agent_queues: Mapping[str, Collection[str]]
    calls: Iterable[Call]
    emergency_started: Mapping[str, float]  # Linkedid → epoch s (the control's memory)
    transfer_due: Mapping[str, float]  # Linkedid → the hand-over limit of its saved order
    trunks: Sequence[WallTrunk] = ()  # the trunk legs' health, as the call process follows it


@dataclass
class WrapUpTally:
    """Wrap-ups ended per agent on one local day (count, total seconds)."""

    day: str = ""
    done: dict[str, tuple[int, float]] = field(default_factory=dict)

    def observe(self, before: AgentPresence, after: AgentPresence) -> bool:
        """Count the wrap-up that `after` ended; True if the tally changed."""
        if before.state is not PresenceState.WRAP_UP or after.state is PresenceState.WRAP_UP:
            return False
        day = local_day(after.since)
        if day != self.day:
            self.day, self.done = day, {}
        count, total = self.done.get(after.extension, (0, 0.0))
        self.done[after.extension] = (count + 1, total + max(0.0, after.since - before.since))
        return True

    def average(self, extension: str, day: str) -> float | None:
        count, total = self.done.get(extension, (0, 0.0)) if day == self.day else (0, 0.0)
        return None if count == 0 else total / count


# What the wall recorded of an agent's state: (state, reason, since).
StateStart = tuple[str, str | None, float]


def restored_starts(
    presences: Mapping[str, AgentPresence], recorded: Mapping[str, StateStart]
) -> dict[str, AgentPresence]:
    """The presences a re-sync found in the state and reason recorded before it, with their
    recorded start back: a re-sync (a restart) sets `since` to its own time, which would start
    the time in state and the long-pause alert again."""
    found = {}
    for ext, p in presences.items():
        state, reason, since = recorded.get(ext, ("", None, p.since))
        if (state, reason) == (p.state.value, p.reason) and since < p.since:
            found[ext] = replace(p, since=since)
    return found


def local_day(at: float) -> str:
    return local_date(datetime.fromtimestamp(at, UTC).replace(tzinfo=None)).isoformat()


def epoch(at: datetime) -> float:
    return at.replace(tzinfo=UTC).timestamp()


def _epoch_or_none(at: datetime | None) -> float | None:
    return None if at is None else epoch(at)


def counts_message(c: QueueCounts | None) -> WallCounts:
    c = c or QueueCounts()
    level, rate = c.service_level, c.satisfaction_rate
    return WallCounts(
        offered=c.offered, answered=c.answered, answered_in_goal=c.answered_in_goal,
        abandoned=c.abandoned, abandoned_short=c.abandoned_short,
        longest_wait_s=round(c.longest_wait_s, 1),
        service_level=None if level is None else round(level, 3),
        surveyed=c.surveyed, satisfied=c.satisfied,
        satisfaction_rate=None if rate is None else round(rate, 3),
    )  # fmt: skip


def _queued_at(call: Call, figures: DayFigures) -> float | None:
    recorded = figures.queued_at.get(call.linkedid)
    known = [t for t in (call.queued_at, _epoch_or_none(recorded)) if t is not None]
    return min(known, default=None)


def _queue(
    name: str, floor: LiveFloor, figures: DayFigures, rule: ServiceRule, now: float
) -> WallQueue:
    queued = [
        (c.callback, t)
        for c in floor.calls
        if c.queue == name and c.in_queue and (t := _queued_at(c, figures)) is not None
    ]
    waiting = [t for placeholder, t in queued if not placeholder]  # a placeholder's: its own join
    members = [ext for ext, qs in floor.members.items() if name in qs and ext in floor.presences]
    by_state: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for ext in members:
        p = floor.presences[ext]
        by_state[p.state.value] = by_state.get(p.state.value, 0) + 1
        if p.state is PresenceState.PAUSED:
            by_reason[p.reason or ""] = by_reason.get(p.reason or "", 0) + 1
    away = [ext for ext, qs in floor.agent_queues.items() if name in qs and ext not in members]
    if away:
        out = PresenceState.LOGGED_OUT.value
        by_state[out] = by_state.get(out, 0) + len(away)
    oldest = min(waiting, default=None)
    return WallQueue(
        queue=name, goal_s=rule.goal_of(name), waiting=len(queued), oldest_queued_at=oldest,
        longest_wait_s=0.0 if oldest is None else round(max(0.0, now - oldest), 1),
        today=counts_message(figures.today.get(name)),
        last_hour=counts_message(figures.last_hour.get(name)),
        agents_by_state=by_state, paused_by_reason=by_reason,
    )  # fmt: skip


def _agent(
    p: AgentPresence, floor: LiveFloor, figures: DayFigures, calls: Mapping[str, Call],
    tally: WrapUpTally, day: str,
) -> WallAgent:  # fmt: skip
    call = calls.get(p.call_id or "")
    answered = None
    if p.state is PresenceState.TALKING:
        mine = call is not None and extension_of(call.agent_interface) == p.extension
        answered = call.answered_at if mine and call is not None else p.since
    counts = figures.agents.get(p.extension)
    talk = None if counts is None else counts.average_talk_s
    return WallAgent(
        extension=p.extension, name=p.name, state=p.state.value, reason=p.reason,
        pending_pause=p.pending_pause, since=p.since,
        queues=sorted(floor.members.get(p.extension, ())), call_id=p.call_id,
        call_answered_at=answered, calls_today=0 if counts is None else counts.calls,
        average_talk_s=None if talk is None else round(talk, 1),
        average_wrap_up_s=None if (w := tally.average(p.extension, day)) is None else round(w, 1),
    )  # fmt: skip


def _calls(figures: DayFigures, calls: Mapping[str, Call]) -> list[WallCall]:
    return [
        WallCall(
            call_id=c.linkedid,
            queue=c.queue or None,
            state=c.state.value,
            agent_extension=extension_of(c.outcome_owner),
            queued_at=_queued_at(c, figures),
            answered_at=c.answered_at,
        )
        for c in sorted(calls.values(), key=lambda c: (c.queued_at or c.started_at, c.linkedid))
        if c.state in LIVE
    ]


def _emergencies(
    floor: LiveFloor, figures: DayFigures, calls: Mapping[str, Call]
) -> list[WallEmergency]:
    found = []
    for linkedid, call in calls.items():
        recorded = figures.emergency_started_at.get(linkedid)
        starts = [floor.emergency_started.get(linkedid), _epoch_or_none(recorded)]
        known = [t for t in starts if t is not None]
        if not call.active or not known:
            continue
        started = min(known)
        due = floor.transfer_due.get(linkedid, started + EMERGENCY_LIMIT_S)
        ext = extension_of(call.outcome_owner)
        found.append(WallEmergency(call_id=linkedid, agent_extension=ext, started_at=started,
                                   due_at=due))  # fmt: skip
    return sorted(found, key=lambda e: e.due_at)


def wall_alerts(
    queues: Iterable[WallQueue], agents: Iterable[WallAgent],
    emergencies: Iterable[WallEmergency], limits: Thresholds, raised: Mapping[str, float],
    now: float,
) -> list[WallAlert]:  # fmt: skip
    """The alerts that hold at `now`; one raised before keeps its `raised_at` (`raised`:
    key → raised_at of the alerts shown last time)."""
    found: list[WallAlert] = []

    def add(key: str, **what: object) -> None:
        found.append(WallAlert(key=key, raised_at=raised.get(key, now), **what))  # type: ignore[arg-type]

    for q in queues:
        if q.waiting and q.longest_wait_s > limits.longest_wait_alert_s:
            add(f"long_wait:{q.queue}", kind="long_wait", queue=q.queue,
                message=f"队列 {q.queue} 最长等待超过 {limits.longest_wait_alert_s:.0f} 秒"
                f"（{q.waiting} 人排队）")  # fmt: skip
    for a in agents:
        limit = limits.pause_limit(a.reason)
        if a.state == PresenceState.PAUSED.value and now - a.since > limit:
            add(f"long_pause:{a.extension}:{a.since}", kind="long_pause", extension=a.extension,
                message=f"坐席 {a.name}（{a.extension}）示忙「{a.reason or ''}」超过 "
                f"{limit / 60:.0f} 分钟")  # fmt: skip
    for e in emergencies:
        if e.due_at - now <= limits.emergency_warn_s:
            over = now >= e.due_at
            add(f"emergency_clock:{e.call_id}", kind="emergency_clock", call_id=e.call_id,
                extension=e.agent_extension,
                message="紧急来电已超过 10 分钟时限" if over else
                f"紧急来电距 10 分钟时限不足 {limits.emergency_warn_s:.0f} 秒")  # fmt: skip
    return found


def build_wall(
    floor: LiveFloor, figures: DayFigures, tally: WrapUpTally, rule: ServiceRule,
    limits: Thresholds, raised: Mapping[str, float], now: float,
) -> Wall:  # fmt: skip
    """The wall at `now` (epoch s)."""
    day = local_day(now)
    calls = {c.linkedid: c for c in floor.calls if c.state is not CallState.ENDED}
    queues = [_queue(q, floor, figures, rule, now) for q in floor.queues]
    agents = [
        _agent(floor.presences[ext], floor, figures, calls, tally, day)
        for ext in sorted(floor.presences)
    ]
    emergencies = _emergencies(floor, figures, calls)
    return Wall(
        at=now, day=day, goal_s=rule.goal_s, short_abandon_s=rule.short_abandon_s,
        queues=queues, agents=agents, calls=_calls(figures, calls), emergencies=emergencies,
        alerts=wall_alerts(queues, agents, emergencies, limits, raised, now),
        trunks=list(floor.trunks),
    )  # fmt: skip
