"""Repository functions other packages call directly (the screen pop's caller history, the
calendar cache)."""

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.engine import session_factory
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.enums import Channel, OrderType, Role
from crm.domain.lifecycle import Actor
from crm.repo.calendar import CalendarCache
from crm.repo.directory import create_user
from crm.repo.orders import caller_history
from crm.usecases.calendar import put_days
from crm.usecases.register import CallRef, NewOrder, register_order
from tests.integration.crm.crm_support import START

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_caller_history_for_the_screen_pop(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        user, _ = await create_user(session, "agent", Role.AGENT, None)
        actor = Actor(user.id, Role.AGENT, None)
        for i in range(4):
            new = NewOrder(
                channel=Channel.PHONE,
                text=f"第{i}次" + "很长的诉求内容" * 30,
                order_type=OrderType.HELP,
                caller_number="13600000000",
                calls=(CallRef(f"17000000{i}.1"),),
            )
            await register_order(session, new, actor, centre_code="SZ12345",
                                 now=START + timedelta(minutes=i),
                                 calendar=ChineseWorkCalendar())  # fmt: skip
    async with sessions() as session:
        items = await caller_history(session, "13600000000", limit=3)
        assert [i.excerpt[:3] for i in items] == ["第3次", "第2次", "第1次"]
        assert all(len(i.excerpt) == 80 for i in items)
        assert await caller_history(session, "10000", limit=3) == []


async def test_the_calendar_cache_reloads_only_after_an_edit(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    cache = CalendarCache()
    monday = date(2027, 1, 4)
    async with sessions() as session, session.begin():
        admin, _ = await create_user(session, "admin", Role.ADMIN, None)
        first = await cache.get(session)
    assert first.is_workday(monday)
    async with sessions() as session, session.begin():
        assert await cache.get(session) is first  # no edit: the days are not read again
        await put_days(session, [(monday, False, "元旦")], Actor(admin.id, Role.ADMIN, None), START)
    async with sessions() as session, session.begin():
        fresh = await cache.get(session)
        assert await cache.get(session) is fresh
    assert not fresh.is_workday(monday)
