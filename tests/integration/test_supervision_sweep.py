"""The backend's periodic 督办 sweep, on a real (SQLite) CRM database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from crm.db.engine import create_engine, session_factory
from crm.db.migrate import migrate
from crm.db.models import SupervisionNotice, User
from crm.domain.clock import utc_now
from crm.domain.commands import Dispatch
from crm.domain.enums import Channel, OrderType, Role, UnitKind
from crm.domain.lifecycle import Actor
from crm.repo.calendar import load_calendar
from crm.repo.directory import create_unit, create_user
from crm.usecases.register import NewOrder, register_order
from crm.usecases.transition import apply_command
from hotline_cli.supervision import SYSTEM_USER, sweep_once, system_actor


async def test_overdue_orders_get_one_notice_signed_by_the_system(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    await migrate(engine)
    sessions = session_factory(engine)
    try:
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
