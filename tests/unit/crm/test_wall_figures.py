"""The live wall's day figures from call records: hand-counted expectations."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from crm.domain.calls import CallOutcome
from crm.domain.clock import CHINA_TZ
from crm.domain.survey import SurveyAnswer
from crm.domain.wall_figures import (
    AnsweredRow,
    CallRow,
    DayCounter,
    DayFigures,
    ServiceRule,
    day_start,
)

RULE = ServiceRule(goal_s=15.0, short_abandon_s=5.0)
A, X, P = CallOutcome.ANSWERED, CallOutcome.ABANDONED, CallOutcome.IN_PROGRESS
F = CallOutcome.FAILED


def local(day: int, hour: int, minute: int = 0, second: float = 0) -> datetime:
    """Naive UTC of a Beijing wall-clock time on October `day`, 2026."""
    whole = int(second)
    at = datetime(2026, 10, day, hour, minute, whole, int((second - whole) * 1e6), CHINA_TZ)
    return at.astimezone(UTC).replace(tzinfo=None)


def day_figures(rows: list[CallRow], answers: list[AnsweredRow], now: datetime,
                rule: ServiceRule) -> DayFigures:  # fmt: skip
    """The figures of these records, fed to a new counter at once."""
    counter = DayCounter(rule)
    counter.update(rows, answers)
    return counter.figures(now)


def row(linkedid: str, queued: datetime, outcome: CallOutcome, wait_s: float,
        talk_s: float | None = None, queue: str = "hotline") -> CallRow:  # fmt: skip
    decided = queued + timedelta(seconds=wait_s)
    if outcome is X:
        return CallRow(linkedid, queue, outcome, queued, None, decided)
    ended = None if talk_s is None else decided + timedelta(seconds=talk_s)
    return CallRow(linkedid, queue, outcome, queued, decided, ended)


def test_service_level_counts_short_abandons_out_and_later_ones_against() -> None:
    q = local(9, 10)
    rows = [
        row("fast", q, A, 3.0, 60),  # in the goal
        row("edge", q, A, 15.0, 30),  # exactly 15 s: still in the goal
        row("slow", q, A, 15.5, 90),  # just past it
        row("short", q, X, 4.9),  # gave up at once: not offered
        row("before", q, X, 10.0),  # gave up before 15 s: offered, missed
        row("after", q, X, 40.0),  # gave up after 15 s: offered, missed
    ]
    today = day_figures(rows, [], local(9, 11), RULE).today["hotline"]
    assert (today.answered, today.answered_in_goal) == (3, 2)
    assert (today.abandoned, today.abandoned_short, today.offered) == (3, 1, 5)
    assert today.service_level == 2 / 5
    assert today.longest_wait_s == 40.0


def test_callers_the_queue_timed_out_are_offered_and_missed() -> None:
    q = local(9, 10)
    out = q + timedelta(seconds=300)  # the queue's max_wait_s
    rows = [
        row("fast", q, A, 3.0, 60),  # in the goal
        row("slow", q, A, 20.0, 60),  # answered late: missed
        row("short", q, X, 2.0),  # not offered
        # ended while queued, not by the caller: the queue timed the caller out
        CallRow("timed_out", "hotline", F, q, None, out, end_reason="hung up by caller"),
        # Asterisk went away: not a call the centre missed
        CallRow("lost", "hotline", F, q, None, out, end_reason="asterisk connection lost: EOF"),
        CallRow("gone", "hotline", F, q, None, out, end_reason="not found in Asterisk: re-sync"),
    ]
    today = day_figures(rows, [], local(9, 11), RULE).today["hotline"]
    # offered: fast, slow, timed_out; in the goal: fast only
    assert (today.offered, today.answered_in_goal, today.timed_out) == (3, 1, 1)
    assert today.service_level == 1 / 3
    assert today.longest_wait_s == 300.0


def test_a_call_crossing_midnight_counts_on_the_day_it_was_answered() -> None:
    late = row("late", local(9, 23, 59, 50), A, 20.0, 10)  # answered 00:00:10 on the 10th
    early = row("early", local(9, 23, 30), A, 5.0, 10)  # the 9th
    now = local(10, 0, 5, 0)
    figures = day_figures([late, early], [], now, RULE)
    assert figures.day_start == local(10, 0)
    assert figures.today["hotline"].answered == 1
    assert figures.today["hotline"].answered_in_goal == 0  # waited 20 s
    # the last hour spans midnight: both calls
    assert figures.last_hour["hotline"].answered == 2
    # the evening before, the late call is not yet decided: only the early one is counted
    before = day_figures([early, CallRow("late", "hotline", P, local(9, 23, 59, 50))], [],
                         local(9, 23, 59, 59), RULE)  # fmt: skip
    assert before.today["hotline"].answered == 1
    assert before.queued_at == {"late": local(9, 23, 59, 50)}


def test_day_start_is_the_local_midnight_in_china() -> None:
    # 2026-10-09 16:30 UTC is 00:30 on the 10th in Beijing
    assert day_start(datetime(2026, 10, 9, 16, 30)) == datetime(2026, 10, 9, 16, 0)
    assert day_start(datetime(2026, 10, 9, 15, 59)) == datetime(2026, 10, 8, 16, 0)


def test_the_last_hour_window() -> None:
    now = local(9, 12)
    rows = [row("old", local(9, 10, 50), A, 5), row("new", local(9, 11, 30), X, 30)]
    figures = day_figures(rows, [], now, RULE)
    hour = figures.last_hour["hotline"]
    assert (hour.answered, hour.abandoned, hour.service_level) == (0, 1, 0.0)
    assert figures.today["hotline"].service_level == 1 / 2


def test_queues_apart_and_calls_outside_any_queue_or_lost_are_not_offered() -> None:
    q = local(9, 10)
    rows = [
        row("a", q, A, 2, 10, queue="hotline"),
        row("b", q, A, 20, 10, queue="overflow"),  # answered by an overflow seat: its queue
        CallRow("ivr", "", CallOutcome.IVR_HANGUP, None, None, q),
        CallRow(
            "lost",
            "hotline",
            CallOutcome.FAILED,
            q,
            None,
            q + timedelta(seconds=30),
            end_reason="asterisk connection lost: EOF",
        ),
        CallRow("waiting", "hotline", P, q),
    ]
    figures = day_figures(rows, [], local(9, 11), RULE)
    assert set(figures.today) == {"hotline", "overflow"}
    assert figures.today["hotline"].offered == 1
    assert figures.today["overflow"].service_level == 0.0
    assert figures.queued_at == {"waiting": q}


def test_a_caller_refused_as_a_nuisance_is_neither_offered_nor_abandoned() -> None:
    """The record of a refused caller: the dialplan's queue variable was set, no wait."""
    q = local(9, 10)
    refused = CallRow("n", "hotline", CallOutcome.NUISANCE, None, None, q + timedelta(seconds=9),
                      end_reason="refused in IVR: nuisance")  # fmt: skip
    figures = day_figures([row("a", q, A, 2, 10), refused], [], local(9, 11), RULE)
    hotline = figures.today["hotline"]
    assert (hotline.answered, hotline.abandoned, hotline.abandoned_short) == (1, 0, 0)
    assert (hotline.timed_out, hotline.offered) == (0, 1)


def test_an_answered_call_counts_while_still_talking() -> None:
    q = local(9, 10)
    talking = CallRow("t", "hotline", P, q, q + timedelta(seconds=8), None, q + timedelta(30))
    figures = day_figures([talking], [], local(9, 10, 5), RULE)
    assert figures.today["hotline"].answered_in_goal == 1
    assert figures.emergency_started_at == {"t": q + timedelta(30)}


def test_agents_calls_and_talk_split_at_a_transfer() -> None:
    q = local(9, 10)
    answered = q + timedelta(seconds=5)
    ended = answered + timedelta(seconds=100)
    rows = [
        CallRow("x", "hotline", A, q, answered, ended),
        row("y", q, A, 5, 50),
        CallRow("z", "hotline", P, q, answered, None),  # still talking: counted, no talk yet
    ]
    answers = [
        AnsweredRow("x", "1001", answered),
        AnsweredRow("x", "1002", answered + timedelta(seconds=40)),  # warm transfer to 1002
        AnsweredRow("y", "1001", answered),
        AnsweredRow("z", "1001", answered),
    ]
    agents = day_figures(rows, answers, local(9, 11), RULE).agents
    assert agents["1001"].calls == 3
    assert agents["1001"].average_talk_s == (40 + 50) / 2
    assert (agents["1002"].calls, agents["1002"].average_talk_s) == (1, 60.0)


def test_an_agents_talk_ends_at_its_hang_up_not_after_the_survey() -> None:
    q = local(9, 10)
    answered = q + timedelta(seconds=5)
    surveyed = CallRow("s", "hotline", A, q, answered, answered + timedelta(seconds=90),
                       talk_s=70.0)  # fmt: skip
    in_survey = CallRow("t", "hotline", P, q, answered, None, talk_s=30.0)  # caller still on
    answers = [AnsweredRow("s", "1001", answered), AnsweredRow("t", "1001", answered)]
    agents = day_figures([surveyed, in_survey], answers, local(9, 11), RULE).agents
    assert (agents["1001"].calls, agents["1001"].average_talk_s) == (2, (70 + 30) / 2)


def test_nothing_yet() -> None:
    figures = day_figures([], [], local(9, 8), RULE)
    assert figures.today == {} and figures.agents == {}


def test_a_counter_fed_as_calls_progress_counts_each_call_once() -> None:
    q = local(9, 10)
    counter = DayCounter(RULE)
    counter.update([CallRow("a", "hotline", P, q)], [])
    assert counter.figures(local(9, 10, 0, 5)).today == {}
    answered_at = q + timedelta(seconds=20)  # past the goal
    talking = CallRow("a", "hotline", P, q, answered_at)
    counter.update([talking], [AnsweredRow("a", "1001", answered_at)])
    counter.update([talking], [AnsweredRow("a", "1001", answered_at)])  # the same, again
    seen = counter.figures(local(9, 10, 1))
    assert (seen.today["hotline"].answered, seen.today["hotline"].answered_in_goal) == (1, 0)
    assert seen.agents["1001"].calls == 1 and seen.agents["1001"].average_talk_s is None
    ended = CallRow("a", "hotline", A, q, answered_at, answered_at + timedelta(seconds=70))
    counter.update([ended], [])
    done = counter.figures(local(9, 10, 2))
    assert done.today["hotline"].answered == 1 and done.queued_at == {}
    assert (done.agents["1001"].calls, done.agents["1001"].average_talk_s) == (1, 70.0)
    counter.update([row("b", q, X, 8)], [])
    assert counter.figures(local(9, 10, 3)).today["hotline"].service_level == 0.0
    # the next day: the counts start again, the calls over are forgotten
    tomorrow = counter.figures(local(10, 9))
    assert tomorrow.today == {} and tomorrow.agents == {} and counter.rows == {}


def test_each_queue_counts_its_own_answer_goal_and_a_new_goal_counts_today_again() -> None:
    """hotline's goal is 20 s, complaint has none of its own (the wall's 15 s): an answer
    after 18 s is in hotline's goal and out of complaint's; a goal changed live recounts."""
    q = local(9, 10)
    rule = ServiceRule(15.0, 5.0, {"hotline": 20.0})
    rows = [row("h", q, A, 18.0, 30), row("c", q, A, 18.0, 30, queue="complaint")]
    counter = DayCounter(rule)
    counter.update(rows, [])
    today = counter.figures(local(9, 11)).today
    assert (today["hotline"].answered_in_goal, today["complaint"].answered_in_goal) == (1, 0)
    counter.follow(ServiceRule(15.0, 5.0, {"hotline": 10.0, "complaint": 30.0}))
    today = counter.figures(local(9, 11)).today
    assert (today["hotline"].answered_in_goal, today["complaint"].answered_in_goal) == (0, 1)


def test_satisfaction_rate_counts_survey_answers_and_not_no_answer() -> None:
    """满意率 = (satisfied + basically satisfied) / answered surveys; a survey stored after the
    call was first counted (the record written again) replaces that call's share."""
    q = local(9, 10)
    s = SurveyAnswer
    surveyed = [
        dataclasses.replace(row(name, q, A, 3.0, 60), survey=answer)
        for name, answer in [("a", s.SATISFIED), ("b", s.BASICALLY_SATISFIED),
                             ("c", s.UNSATISFIED), ("d", s.NO_ANSWER), ("e", None)]
    ]  # fmt: skip
    counter = DayCounter(RULE)
    counter.update(surveyed, [])
    today = counter.figures(local(9, 11)).today["hotline"]
    assert (today.surveyed, today.satisfied, today.satisfaction_rate) == (3, 2, 2 / 3)
    counter.update([dataclasses.replace(surveyed[4], survey=s.UNSATISFIED)], [])
    today = counter.figures(local(9, 11)).today["hotline"]
    assert (today.surveyed, today.satisfied, today.satisfaction_rate) == (4, 2, 0.5)
