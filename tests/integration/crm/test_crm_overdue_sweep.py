"""The CRM's periodic overdue-notice sweep (督办), on a real (SQLite) CRM database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.migrate import migrate
from crm.db.models import SupervisionNotice, User
from crm.domain.clock import utc_now
from crm.domain.commands import Dispatch
from crm.domain.enums import Channel, OrderType, Role, UnitKind
from crm.domain.lifecycle import Actor
from crm.jobs.overdue_sweep import SYSTEM_USER, OverdueSweep, sweep_once, system_actor
from crm.repo.calendar import load_calendar
from crm.repo.directory import create_unit, create_user
from crm.usecases.register import NewOrder, RegisteredOrder, register_order
from crm.usecases.transition import apply_command
from tests.support.fake_asterisk import wait_until


async def _one_overdue_one_fresh(
    sessions: SessionFactory,
) -> tuple[RegisteredOrder, RegisteredOrder]:
    """Two dispatched orders: one registered 40 days ago (overdue), one today."""
    async with sessions() as session, session.begin():
        agent, _ = await create_user(session, "受理员", Role.AGENT, None)
        taker = Actor(user_id=agent.id, role=Role.AGENT, unit_id=None)
        calendar = await load_calendar(session)
        long_ago = utc_now() - timedelta(days=40)
        overdue = await register_order(
            session, NewOrder(Channel.PHONE, "路灯不亮", OrderType.HELP), taker,
            centre_code="LY", now=long_ago, calendar=calendar,
        )  # fmt: skip
        fresh = await register_order(
            session, NewOrder(Channel.PHONE, "咨询社保", OrderType.COMPLAINT), taker,
            centre_code="LY", now=utc_now(), calendar=calendar,
        )  # fmt: skip
        unit = await create_unit(session, "ZJJ", "住建局", UnitKind.DEPARTMENT)
        for order, at in ((overdue, long_ago), (fresh, utc_now())):
            # Only a unit can miss a limit: the order must have been dispatched.
            await apply_command(session, order.id, Dispatch(unit.id), taker, now=at,
                                calendar=calendar)  # fmt: skip
    return overdue, fresh


async def test_overdue_orders_get_one_notice_signed_by_the_system(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    await migrate(engine)
    sessions = session_factory(engine)
    try:
        overdue, fresh = await _one_overdue_one_fresh(sessions)

        actor = await system_actor(sessions)
        assert await system_actor(sessions) == actor  # created once
        assert await sweep_once(sessions, actor) == [overdue.number]
        assert await sweep_once(sessions, actor) == []  # once per missed due date

        async with sessions() as session:
            notices = (await session.scalars(select(SupervisionNotice))).all()
            assert [n.order_id for n in notices] == [overdue.id] and fresh.id != overdue.id
            system = await session.scalar(select(User).where(User.name == SYSTEM_USER))
            assert system is not None and system.active is False
    finally:
        await engine.dispose()


async def _noticed(sessions: SessionFactory) -> list[int]:
    async with sessions() as session:
        return list(await session.scalars(select(SupervisionNotice.order_id)))


def _sweeping() -> bool:
    return any(task.get_name() == "overdue sweep" for task in asyncio.all_tasks())


async def test_the_sweep_runs_while_entered_and_survives_a_failed_sweep(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    await migrate(engine)
    sessions = session_factory(engine)
    try:
        overdue, _fresh = await _one_overdue_one_fresh(sessions)
        async with OverdueSweep(sessions, interval_s=3600) as sweep:
            async with asyncio.timeout(10):
                while True:  # the first sweep runs once entered
                    noticed = await _noticed(sessions)
                    if noticed:
                        break
                    await asyncio.sleep(0.02)
            assert noticed == [overdue.id] and sweep.failures == 0
        assert not _sweeping()

        opened = 0

        def failing_after_the_actor() -> AsyncSession:
            nonlocal opened
            opened += 1
            if opened > 1:
                raise RuntimeError("the database is gone")
            return sessions()

        flaky = cast(SessionFactory, failing_after_the_actor)
        async with OverdueSweep(flaky, interval_s=0.01) as sweep:
            async with asyncio.timeout(10):  # the loop goes on after a failed sweep
                await wait_until(lambda: sweep.failures >= 2)
        assert not _sweeping()
    finally:
        await engine.dispose()
