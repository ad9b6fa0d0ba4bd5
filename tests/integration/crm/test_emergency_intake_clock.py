"""The 10-minute clock runs from intake, on a real database (SQLite and PostgreSQL): an order
saved for a call gets its limit from the call's answer (the call log's record), not from the
save; the order of a call sent towards 110/119/120 is on the clock whatever its type; a call
older than 10 minutes at the save is escalated by the clock's first round, and the figures
count its hand-over late."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.engine import SessionFactory, session_factory
from crm.db.exchange_models import OrderAlert
from crm.db.models import WorkOrder
from crm.domain import commands as c
from crm.domain.enums import AlertKind, Role, TransferTarget
from crm.domain.lifecycle import Actor
from crm.jobs.emergency_clock import EmergencyClock
from crm.repo.directory import create_user
from crm.usecases.call_disposition import ensure_call_record
from crm.usecases.call_order import TakenCall, save_call_order
from crm.usecases.emergency_figures import figures
from crm.usecases.transition import apply_command
from tests.integration.crm.crm_support import START, FakeClock
from tests.integration.crm.test_emergency_clock import CALENDAR, RULES, _actors

pytestmark = pytest.mark.asyncio(loop_scope="session")

ANSWERED = START - timedelta(minutes=12)  # the call came in 12 minutes before the save


async def _call(sessions: SessionFactory, linkedid: str, *, towards_110: bool) -> TakenCall:
    """The call's record as the call log stores it: arrived, answered, perhaps consulting 110."""
    async with sessions() as session, session.begin():
        record = await ensure_call_record(
            session, linkedid, START, ANSWERED - timedelta(seconds=20)
        )
        record.answered_at = ANSWERED
        record.emergency_started_at = ANSWERED + timedelta(minutes=2) if towards_110 else None
    return TakenCall(linkedid, "13800001111", "李雷")


async def _save(sessions: SessionFactory, agent: Actor, call: TakenCall, kind: str) -> int:
    form = {"order_type": kind, "text": "有人持刀威胁", "location": "幸福路3号", "call_id": "x"}
    async with sessions() as session, session.begin():
        saved = await save_call_order(
            session, form, call, agent, centre_code="SZ12345", now=START, calendar=CALENDAR
        )
        return int(saved["order_id"])


async def _supervisor(sessions: SessionFactory) -> Actor:
    async with sessions() as session, session.begin():
        user, _ = await create_user(session, "班长", Role.SUPERVISOR, None)
    return Actor(user.id, Role.SUPERVISOR, None)


async def _due(sessions: SessionFactory, oid: int) -> datetime | None:
    async with sessions() as session:
        return await session.scalar(select(WorkOrder.transfer_due_at).where(WorkOrder.id == oid))


async def test_the_clock_runs_from_the_calls_intake(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    agent, _ = await _actors(sessions)
    police = await _save(sessions, agent, await _call(sessions, "1.1", towards_110=False), "police")
    consulted = await _save(sessions, agent, await _call(sessions, "1.2", towards_110=True),
                            "complaint")  # fmt: skip
    plain = await _save(sessions, agent, await _call(sessions, "1.3", towards_110=False),
                        "complaint")  # fmt: skip
    limit = ANSWERED + timedelta(minutes=10)
    assert [await _due(sessions, oid) for oid in (police, consulted, plain)] == [limit, limit, None]

    job = EmergencyClock(sessions, RULES, interval_s=60, clock=FakeClock(START))
    await job.start()
    await job.run_once()  # its first round, at the save: both are past their limit already
    async with sessions() as session:
        alerts = (await session.execute(
            select(OrderAlert.order_id, OrderAlert.kind).order_by(OrderAlert.id)
        )).all()  # fmt: skip
    escalated = [(oid, k) for oid, k in alerts if k is AlertKind.TRANSFER_ESCALATION]
    assert escalated == [(police, AlertKind.TRANSFER_ESCALATION),
                         (consulted, AlertKind.TRANSFER_ESCALATION)]  # fmt: skip

    # handed over a minute after the save: within 10 minutes of it, but not of the intake
    supervisor = await _supervisor(sessions)
    async with sessions() as session, session.begin():
        await apply_command(session, police, c.Transfer(TransferTarget.POLICE_110), agent,
                            now=START, calendar=CALENDAR, rules=RULES)  # fmt: skip
        await apply_command(session, police, c.HandoverDecision("110 接警员电话确认"),
                            supervisor, now=START + timedelta(minutes=1),
                            calendar=CALENDAR, rules=RULES)  # fmt: skip
    async with sessions() as session:
        got = await figures(session, START - timedelta(days=1), START + timedelta(days=1),
                            START + timedelta(minutes=2))  # fmt: skip
    assert (got.total.handed_over, got.total.in_time, got.total.late) == (1, 0, 1)
