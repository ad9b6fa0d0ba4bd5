"""The live wall's counter on both databases: the day's figures from stored call records, read
whole the first time, then only what was written since."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.engine import session_factory
from crm.domain.call_progress import CallEventFact, CallFacts, CallUpdate
from crm.domain.calls import CallEventKind, CallOutcome
from crm.domain.queue_callback import PLACEHOLDER_LABEL
from crm.domain.revisit import CALL_LABEL
from crm.domain.wall_figures import ServiceRule
from crm.usecases.call_records import record_progress
from crm.usecases.wall_figures import WallCounter

# 2026-12-01 10:00 in Beijing; the day began at 2026-11-30 16:00 UTC.
T0 = datetime(2026, 12, 1, 2, 0, 0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def answered(linkedid: str, queued: float, wait: float, talk: float | None, agent: str
             ) -> CallUpdate:  # fmt: skip
    ended = None if talk is None else at(queued + wait + talk)
    outcome = CallOutcome.IN_PROGRESS if talk is None else CallOutcome.ANSWERED
    facts = CallFacts(
        linkedid, at(queued - 5), outcome, queue="hotline", queued_at=at(queued),
        answered_at=at(queued + wait), ended_at=ended, agent_extension=agent,
    )  # fmt: skip
    event = CallEventFact(CallEventKind.ANSWERED, at(queued + wait), agent)
    return CallUpdate(facts, (event,))


def abandoned(linkedid: str, queued: float, wait: float) -> CallUpdate:
    facts = CallFacts(linkedid, at(queued - 5), CallOutcome.ABANDONED, queue="hotline",
                      queued_at=at(queued), ended_at=at(queued + wait))  # fmt: skip
    return CallUpdate(facts)


async def _write(engine: AsyncEngine, now: datetime, *updates: CallUpdate) -> None:
    async with session_factory(engine)() as session, session.begin():
        await record_progress(session, list(updates), now)


async def test_the_counter_follows_the_records_as_they_are_written(engine: AsyncEngine) -> None:
    yesterday = CallUpdate(CallFacts("old", at(-86400), CallOutcome.ANSWERED, queue="hotline",
                                     queued_at=at(-86400), answered_at=at(-86390),
                                     ended_at=at(-86300)))  # fmt: skip
    await _write(engine, at(-86300), yesterday)
    await _write(engine, at(100), answered("a", 0, 3, 60, "1001"), abandoned("b", 10, 30))
    counter = WallCounter(ServiceRule())
    sessions = session_factory(engine)
    async with sessions() as session:
        first = await counter.figures(session, at(120))
    today = first.today["hotline"]
    assert (today.answered, today.answered_in_goal, today.abandoned, today.offered) == (1, 1, 1, 2)
    assert first.agents["1001"].calls == 1 and first.agents["1001"].average_talk_s == 60.0

    # written since: a call answered late, still talking; read without reading the rest again
    await _write(engine, at(140), answered("c", 100, 20, None, "1001"))
    async with sessions() as session:
        second = await counter.figures(session, at(141))
    today = second.today["hotline"]
    assert (today.answered, today.answered_in_goal, today.offered) == (2, 1, 3)
    assert today.longest_wait_s == 30.0
    assert second.agents["1001"].calls == 2
    assert set(counter.counter.rows) == {"a", "b", "c"}  # yesterday's call is not kept

    # it ends; and an answer written late (after a transfer, the call log catching up) is
    # read by its new id although its time is long past
    ended = answered("c", 100, 20, 40, "1001")
    late = CallUpdate(ended.facts, (CallEventFact(CallEventKind.ANSWERED, at(130), "1002"),))
    await _write(engine, at(160), ended)
    await _write(engine, at(400), late)
    async with sessions() as session:
        third = await counter.figures(session, at(401))
        whole = await WallCounter(ServiceRule()).figures(session, at(401))
    assert third.agents["1001"].average_talk_s == (60 + 10) / 2  # its part up to the transfer
    assert third.agents["1002"].average_talk_s == 30.0
    assert third.queued_at == {} and whole.today == third.today
    assert whole.agents == third.agents


async def test_the_centre_s_calls_back_are_no_calls_in(engine: AsyncEngine) -> None:
    """A callback (回访) the desk placed has a record of its own (for its recording): the
    wall counts no such call, neither while it is on nor once it ended."""
    placed = CallFacts("1.9", at(0), ivr_label=CALL_LABEL, agent_extension="1001")
    await _write(engine, at(1), answered("a", 0, 3, 60, "1001"), CallUpdate(placed))
    counter = WallCounter(ServiceRule())
    sessions = session_factory(engine)
    async with sessions() as session:
        first = await counter.figures(session, at(2))
    ended = CallFacts("1.9", at(0), CallOutcome.ANSWERED, ended_at=at(90), ivr_label=CALL_LABEL)
    await _write(engine, at(90), CallUpdate(ended))
    async with sessions() as session:
        second = await counter.figures(session, at(91))
    assert set(counter.counter.rows) == {"a"}
    assert set(first.today) == set(second.today) == {"hotline"}
    assert second.today["hotline"].offered == 1


async def test_a_callback_s_placeholder_is_no_call_in(engine: AsyncEngine) -> None:
    """The placeholder holding a caller's place (its record labelled so by the call log) is
    neither offered, nor answered in the goal, nor the longest wait: the caller's own call
    was counted."""
    placeholder = CallFacts(
        "1.8", at(0), CallOutcome.ANSWERED, queue="hotline", queued_at=at(0),
        answered_at=at(400), ended_at=at(460), ivr_label=PLACEHOLDER_LABEL,
    )  # fmt: skip
    await _write(engine, at(461), answered("a", 0, 3, 60, "1001"), CallUpdate(placeholder))
    counter = WallCounter(ServiceRule())
    async with session_factory(engine)() as session:
        figures = await counter.figures(session, at(462))
    assert set(counter.counter.rows) == {"a"}
    assert figures.today["hotline"].offered == 1
    assert figures.today["hotline"].longest_wait_s == 3
