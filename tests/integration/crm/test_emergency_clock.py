"""The 10-minute clock job on a real database (SQLite and PostgreSQL), its time walked by a
fixed clock: a warning before the limit, the escalation at it, the result overdue after a
confirmed hand-over, each once, stamped on the order and signed by the clock's own user."""

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.engine import SessionFactory, session_factory
from crm.db.exchange_models import OrderAlert
from crm.db.models import AuditEntry, User, WorkOrder
from crm.domain import commands as c
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.emergency import EmergencyRules
from crm.domain.enums import AlertKind, Channel, OrderType, Role, TransferTarget
from crm.domain.lifecycle import Actor
from crm.jobs.emergency_clock import CLOCK_USER, EmergencyClock
from crm.repo.directory import create_user
from crm.usecases.register import NewOrder, register_order
from crm.usecases.transition import apply_command
from tests.integration.crm.crm_support import START, FakeClock
from tests.support.fake_asterisk import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

RULES = EmergencyRules(warn_before_s=120, result_due_h=6)
CALENDAR = ChineseWorkCalendar()


async def _actors(sessions: SessionFactory) -> tuple[Actor, Actor]:
    async with sessions() as session, session.begin():
        agent, _ = await create_user(session, "受理员", Role.AGENT, None)
        peer, _ = await create_user(session, "120", Role.PEER, None)
    return Actor(agent.id, Role.AGENT, None), Actor(peer.id, Role.PEER, None)


async def _register(sessions: SessionFactory, agent: Actor, kind: OrderType, at: datetime) -> int:
    async with sessions() as session, session.begin():
        order = await register_order(
            session, NewOrder(Channel.PHONE, "紧急情况", kind), agent, centre_code="SZ12345",
            now=at, calendar=CALENDAR,
        )  # fmt: skip
        return order.id


async def _apply(sessions: SessionFactory, oid: int, command: c.Command, actor: Actor,
                 at: datetime) -> None:  # fmt: skip
    async with sessions() as session, session.begin():
        await apply_command(session, oid, command, actor, now=at, calendar=CALENDAR, rules=RULES)


async def _alerts(sessions: SessionFactory) -> list[tuple[int | None, AlertKind, datetime]]:
    async with sessions() as session:
        rows = await session.execute(
            select(OrderAlert.order_id, OrderAlert.kind, OrderAlert.raised_at).order_by(
                OrderAlert.id
            )
        )
        return [(o, k, t) for o, k, t in rows.all()]


async def test_the_clock_warns_escalates_and_chases_the_result_once_each(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    agent, peer = await _actors(sessions)
    fire = await _register(sessions, agent, OrderType.FIRE, START)
    medical = await _register(sessions, agent, OrderType.MEDICAL, START)
    await _register(sessions, agent, OrderType.COMPLAINT, START)  # not on the clock
    await _apply(sessions, medical, c.Transfer(TransferTarget.MEDICAL_120), agent, START)
    accepted = START + timedelta(minutes=3)
    await _apply(sessions, medical, c.HandoverAccepted("120-7"), peer, accepted)

    clock = FakeClock(START)
    job = EmergencyClock(sessions, RULES, interval_s=60, clock=clock)
    await job.start()

    async def at(delta: timedelta) -> None:
        clock.now = START + delta
        await job.run_once()

    await at(timedelta(minutes=7, seconds=59))
    assert await _alerts(sessions) == []
    warned = START + timedelta(minutes=8)
    await at(timedelta(minutes=8))
    await at(timedelta(minutes=8, seconds=30))
    assert await _alerts(sessions) == [(fire, AlertKind.TRANSFER_WARNING, warned)]
    escalated = START + timedelta(minutes=10)
    await at(timedelta(minutes=10))
    await at(timedelta(minutes=40))
    overdue = accepted + timedelta(hours=6)
    await at(overdue - START - timedelta(seconds=1))
    await at(overdue - START)
    await at(timedelta(hours=30))
    assert await _alerts(sessions) == [
        (fire, AlertKind.TRANSFER_WARNING, warned),
        (fire, AlertKind.TRANSFER_ESCALATION, escalated),
        (medical, AlertKind.RESULT_OVERDUE, overdue),
    ]
    async with sessions() as session:
        order = await session.get(WorkOrder, fire)
        assert order is not None
        assert (order.transfer_warned_at, order.transfer_escalated_at) == (warned, escalated)
        signer = await session.scalar(select(User).where(User.name == CLOCK_USER))
        assert signer is not None and signer.role is Role.SUPERVISOR and not signer.active
        trail = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.order_id == fire).order_by(AuditEntry.id)
            )
        ).all()
        assert [(e.action, e.actor_id, e.detail.get("kind")) for e in trail] == [
            ("register", agent.user_id, None),
            ("alert", signer.id, "transfer_warning"),
            ("alert", signer.id, "transfer_escalation"),
        ]


async def test_a_confirmed_hand_over_in_time_stops_the_clock(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    agent, peer = await _actors(sessions)
    police = await _register(sessions, agent, OrderType.POLICE, START)
    await _apply(sessions, police, c.Transfer(TransferTarget.POLICE_110), agent, START)
    clock = FakeClock(START + timedelta(minutes=5))
    job = EmergencyClock(sessions, RULES, interval_s=60, clock=clock)
    await job.start()
    await _apply(sessions, police, c.HandoverAccepted("110-1"), peer, clock.now)
    for minutes in (8, 10, 60):
        clock.now = START + timedelta(minutes=minutes)
        await job.run_once()
    await _apply(sessions, police, c.TransferFeedback("已处置"), peer, clock.now)
    clock.now = START + timedelta(hours=12)  # past the result's due time, but closed
    await job.run_once()
    assert await _alerts(sessions) == []


async def test_the_running_job_raises_and_wakes_the_publisher(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    agent, _ = await _actors(sessions)
    fire = await _register(sessions, agent, OrderType.FIRE, START)
    woken = asyncio.Event()
    clock = FakeClock(START + timedelta(minutes=11))
    async with EmergencyClock(
        sessions, RULES, interval_s=0.05, after=woken.set, clock=clock
    ) as job:
        await asyncio.wait_for(woken.wait(), 20)
        runs = job.runs
        # three more rounds raise nothing more
        await asyncio.wait_for(wait_until(lambda: job.runs >= runs + 3), 20)
    assert job.failures == 0
    assert [(o, k) for o, k, _ in await _alerts(sessions)] == [
        (fire, AlertKind.TRANSFER_ESCALATION)
    ]
