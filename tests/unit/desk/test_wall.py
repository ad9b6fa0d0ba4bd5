"""The live wall built from the day's figures and the live floor; its alerts, raised once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from agent_gateway.desk.presence import AgentPresence
from agent_gateway.desk.wall import (
    EMERGENCY_LIMIT_S,
    LiveFloor,
    Thresholds,
    WrapUpTally,
    build_wall,
    local_day,
    restored_starts,
)
from agent_gateway.edge.protocol import PresenceState
from crm.domain.wall_figures import AgentCounts, DayFigures, QueueCounts, ServiceRule
from telephony.call import Call, CallState

S = PresenceState
NOW = datetime(2026, 10, 9, 2, 0, tzinfo=UTC).timestamp()  # 10:00 in Beijing
RULE = ServiceRule()
LIMITS = Thresholds(longest_wait_alert_s=60, pause_alert_s=600,
                    pause_alert_s_by_reason={"午餐": 1800}, emergency_warn_s=120)  # fmt: skip


def naive(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC).replace(tzinfo=None)


def agent(ext: str, state: PresenceState, since: float, call: str | None = None,
          reason: str | None = None) -> AgentPresence:  # fmt: skip
    return AgentPresence(ext, f"坐席{ext}", state, reason, since, call)


def call(linkedid: str, state: CallState, queued: float, **more: object) -> Call:
    return Call(linkedid, linkedid, "PJSIP/carrier-1", "138", "张三", queued - 5, state,
                queue="hotline", queued_at=queued, **more)  # type: ignore[arg-type]  # fmt: skip


def figures(**more: object) -> DayFigures:
    base: dict[str, object] = {
        "day_start": naive(NOW - 36000),
        "today": {},
        "last_hour": {},
        "agents": {},
    }
    return DayFigures(**{**base, **more})  # type: ignore[arg-type]


def floor(presences: list[AgentPresence], calls: list[Call], **more: object) -> LiveFloor:
    base: dict[str, object] = {
        "queues": ["hotline"],
        "presences": {p.extension: p for p in presences},
        "members": {p.extension: {"hotline"} for p in presences if p.state is not S.LOGGED_OUT},
        "agent_queues": {p.extension: ["hotline"] for p in presences},
        "calls": calls,
        "emergency_started": {},
        "transfer_due": {},
    }
    return LiveFloor(**{**base, **more})  # type: ignore[arg-type]


def test_queue_figures_join_the_records_with_who_waits_now() -> None:
    today = QueueCounts(answered=3, answered_in_goal=2, abandoned=2, abandoned_short=1,
                        longest_wait_s=42.0)  # fmt: skip
    floors = floor(
        [agent("1001", S.AVAILABLE, NOW - 30), agent("1002", S.PAUSED, NOW - 5, reason="培训"),
         agent("1003", S.LOGGED_OUT, NOW - 99), agent("1004", S.TALKING, NOW - 20, "t")],
        [call("w1", CallState.QUEUED, NOW - 30), call("w2", CallState.RINGING, NOW - 10),
         call("t", CallState.TALKING, NOW - 50, answered_at=NOW - 20,
              agent_interface="PJSIP/1004")],
    )  # fmt: skip
    # the record knows w1 waited longer than the re-synced tracker thinks
    wall = build_wall(floors, figures(today={"hotline": today}, queued_at={"w1": naive(NOW - 45)}),
                      WrapUpTally(), RULE, LIMITS, {}, NOW)  # fmt: skip
    q = wall.queues[0]
    assert (q.waiting, q.longest_wait_s, q.oldest_queued_at) == (2, 45.0, NOW - 45)
    assert (q.today.offered, q.today.service_level, q.today.abandoned) == (4, 0.5, 2)
    assert q.last_hour.offered == 0 and q.last_hour.service_level is None
    assert q.agents_by_state == {"available": 1, "paused": 1, "talking": 1, "logged_out": 1}
    assert q.paused_by_reason == {"培训": 1}
    talking = next(a for a in wall.agents if a.extension == "1004")
    assert (talking.call_id, talking.call_answered_at) == ("t", NOW - 20)
    assert [(c.call_id, c.state, c.agent_extension, c.queued_at) for c in wall.calls] == [
        ("t", "talking", "1004", NOW - 50),
        ("w1", "queued", None, NOW - 45),
        ("w2", "ringing", None, NOW - 10),
    ]
    assert wall.day == "2026-10-09" and wall.alerts == []


def test_configured_agents_who_are_no_members_are_logged_out_of_the_queue() -> None:
    on = [agent("1001", S.AVAILABLE, NOW), agent("1002", S.AVAILABLE, NOW)]
    off = [agent("1003", S.LOGGED_OUT, NOW), agent("1004", S.LOGGED_OUT, NOW)]
    floors = floor(
        [*on, *off], [], queues=["hotline", "overflow"],
        # 1002 serves both queues but is a member of hotline only now; 1004 serves overflow only
        agent_queues={"1001": ["hotline"], "1002": ["hotline", "overflow"], "1003": ["hotline"],
                      "1004": ["overflow"]},
        members={"1001": {"hotline"}, "1002": {"hotline"}, "1003": set(), "1004": set()},
    )  # fmt: skip
    rule = ServiceRule(queue_goals_s={"hotline": 20.0})  # overflow has none of its own
    hotline, overflow = build_wall(floors, figures(), WrapUpTally(), rule, LIMITS, {}, NOW).queues
    assert (hotline.goal_s, overflow.goal_s) == (20.0, 15.0)
    assert hotline.agents_by_state == {"available": 2, "logged_out": 1}
    assert overflow.agents_by_state == {"logged_out": 2}


def test_agents_show_the_days_calls_talk_and_wrap_up() -> None:
    tally = WrapUpTally()
    wrapping = agent("1001", S.WRAP_UP, NOW - 100, "c1")
    assert tally.observe(wrapping, agent("1001", S.AVAILABLE, NOW - 70))  # 30 s
    assert not tally.observe(agent("1001", S.AVAILABLE, NOW - 70), agent("1001", S.RINGING, NOW))
    assert tally.observe(agent("1001", S.WRAP_UP, NOW - 50), agent("1001", S.PAUSED, NOW - 40))
    figs = figures(agents={"1001": AgentCounts(calls=4, talk_total_s=300.0, talks_ended=3)})
    wall = build_wall(floor([agent("1001", S.AVAILABLE, NOW)], []), figs, tally, RULE, LIMITS,
                      {}, NOW)  # fmt: skip
    a = wall.agents[0]
    assert (a.calls_today, a.average_talk_s, a.average_wrap_up_s) == (4, 100.0, 20.0)
    # another day: the tally starts again
    tomorrow = NOW + 86400
    assert tally.average("1001", local_day(tomorrow)) is None


def test_an_agent_on_a_call_shows_the_pause_pending_after_it() -> None:
    talking = replace(agent("1001", S.TALKING, NOW - 30, "c1"), pending_pause="会议")
    wall = build_wall(floor([talking], []), figures(), WrapUpTally(), RULE, LIMITS, {}, NOW)
    a = wall.agents[0]
    assert (a.state, a.reason, a.pending_pause) == ("talking", None, "会议")
    assert wall.queues[0].paused_by_reason == {}  # not paused yet: the queue counts it talking


def test_alerts_raised_once_per_occurrence_and_cleared_when_over() -> None:
    paused = agent("1002", S.PAUSED, NOW - 700, reason="休息")
    lunch = agent("1003", S.PAUSED, NOW - 700, reason="午餐")  # allowed 30 minutes
    floors = floor([paused, lunch], [call("w", CallState.QUEUED, NOW - 61)])
    first = build_wall(floors, figures(), WrapUpTally(), RULE, LIMITS, {}, NOW)
    assert [(a.kind, a.raised_at) for a in first.alerts] == [
        ("long_wait", NOW),
        ("long_pause", NOW),
    ]
    assert first.alerts[1].extension == "1002" and "休息" in first.alerts[1].message
    raised = {a.key: a.raised_at for a in first.alerts}
    later = build_wall(floors, figures(), WrapUpTally(), RULE, LIMITS, raised, NOW + 5)
    assert [a.raised_at for a in later.alerts] == [NOW, NOW]  # the same occurrences
    # the caller was answered, the agent unpaused: both over
    calm = floor([agent("1002", S.AVAILABLE, NOW + 6)], [])
    assert build_wall(calm, figures(), WrapUpTally(), RULE, LIMITS, raised, NOW + 7).alerts == []
    # paused again later: a new occurrence, raised anew
    again = floor([agent("1002", S.PAUSED, NOW + 10, reason="休息")], [])
    alert = build_wall(again, figures(), WrapUpTally(), RULE, LIMITS, raised, NOW + 611).alerts
    assert [a.raised_at for a in alert] == [NOW + 611]


def test_emergency_clocks_from_the_control_or_the_record_and_their_warning() -> None:
    up = call("e1", CallState.TALKING, NOW - 600, answered_at=NOW - 590,
              agent_interface="PJSIP/1001")  # fmt: skip
    saved = call("e2", CallState.TALKING, NOW - 100, answered_at=NOW - 90,
                 agent_interface="PJSIP/1002")  # fmt: skip
    gone = call("e3", CallState.ENDED, NOW - 900, ended_at=NOW - 10)
    floors = floor(
        [], [up, saved, gone],
        emergency_started={"e2": NOW - 60, "e3": NOW - 800},
        transfer_due={"e2": NOW + 500},  # its order's limit
    )  # fmt: skip
    # e1's clock is only in the record (a restarted backend's control knows nothing of it)
    figs = figures(emergency_started_at={"e1": naive(NOW - 500)})
    wall = build_wall(floors, figs, WrapUpTally(), RULE, LIMITS, {}, NOW)
    assert [(e.call_id, e.due_at, e.agent_extension) for e in wall.emergencies] == [
        ("e1", NOW - 500 + EMERGENCY_LIMIT_S, "1001"),
        ("e2", NOW + 500, "1002"),
    ]
    assert [a.key for a in wall.alerts] == ["emergency_clock:e1"]  # 100 s left < 120 s
    over = build_wall(floors, figs, WrapUpTally(), RULE, LIMITS, {}, NOW + 101)
    assert "已超过" in over.alerts[0].message


def test_a_resync_in_the_recorded_state_and_reason_gets_its_start_back() -> None:
    resynced = {
        "1001": agent("1001", S.PAUSED, NOW, reason="开会"),  # paused on across the restart
        "1002": agent("1002", S.PAUSED, NOW, reason="午餐"),  # another reason: a new pause
        "1003": agent("1003", S.AVAILABLE, NOW),  # unpaused meanwhile
        "1004": agent("1004", S.AVAILABLE, NOW),  # nothing recorded
    }
    recorded = {"1001": ("paused", "开会", NOW - 840), "1002": ("paused", "休息", NOW - 840),
                "1003": ("paused", "开会", NOW - 840)}  # fmt: skip
    found = restored_starts(resynced, recorded)
    assert found == {"1001": agent("1001", S.PAUSED, NOW - 840, reason="开会")}
    # the pause alert is raised as before the restart, not 10 minutes after it
    floors = floor([found["1001"]], [])
    assert [a.kind for a in build_wall(floors, figures(), WrapUpTally(), RULE, LIMITS, {},
                                       NOW).alerts] == ["long_pause"]  # fmt: skip
