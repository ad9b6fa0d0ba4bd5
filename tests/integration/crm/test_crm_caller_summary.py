"""The screen pop's caller summary is the CRM's, on both databases: a caller who asked for
confidentiality on any earlier order is masked however old that order is, and open orders
are those in OPEN_STATUSES, however old, whatever the pop's history lists."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_gateway.desk.orders import DeskOrders
from crm.db.engine import SessionFactory, session_factory
from crm.db.models import WorkOrder
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.caller import NO_NUMBER
from crm.domain.enums import Channel, OrderType, Role, Status
from crm.domain.lifecycle import Actor
from crm.repo.directory import create_user
from crm.usecases import call_order
from crm.usecases.register import CallRef, NewOrder, register_order
from hotline_cli.demo.ports import free_tcp_port
from processes.redis_server import RedisProcess
from tests.integration.crm.crm_support import START
from tests.integration.desk.test_desk_masking import pop_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

CALLER = "13800001111"  # the number pop_for's call comes from


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[Redis]:
    server = RedisProcess(free_tcp_port(), tmp_path / "redis")
    async with server:
        client = Redis.from_url(server.url, socket_timeout=3, socket_connect_timeout=1)
        yield client
        await client.aclose()


async def _orders_of_caller(sessions: SessionFactory, count: int) -> list[str]:
    """`count` orders from CALLER a minute apart, oldest first (only the oldest confidential,
    the newest answered at once); their numbers."""
    numbers = []
    async with sessions() as session, session.begin():
        user, _ = await create_user(session, "agent", Role.AGENT, None)
        actor = Actor(user.id, Role.AGENT, None)
        for i in range(count):
            new = NewOrder(channel=Channel.PHONE, text=f"第{i}次", order_type=OrderType.HELP,
                           caller_number=CALLER, confidential=i == 0,
                           calls=(CallRef(f"17000000{i}.1"),))  # fmt: skip
            order = await register_order(session, new, actor, centre_code="SZ12345",
                                         now=START + timedelta(minutes=i),
                                         calendar=ChineseWorkCalendar())  # fmt: skip
            numbers.append(order.number)
        await session.execute(
            update(WorkOrder).where(WorkOrder.number == numbers[-1]).values(status=Status.ANSWERED)
        )
    return numbers


async def test_an_old_confidential_order_masks_the_pop(engine: AsyncEngine, redis: Redis) -> None:
    sessions = session_factory(engine)
    numbers = await _orders_of_caller(sessions, call_order.HISTORY_LIMIT + 2)
    oldest, answered = numbers[0], numbers[-1]

    async with sessions() as session:
        summary = await call_order.caller_summary(session, CALLER)
    assert summary.confidential
    assert [h["number"] for h in summary.history] == numbers[:1:-1]  # the newest 10
    # every open one, the oldest too (beyond the history); not the answered one
    assert [o["number"] for o in summary.open_orders] == numbers[-2::-1]

    pop = await pop_for(redis, DeskOrders(sessions, "SZ12345").caller_summary)
    assert pop["caller"] == {"number": "138****1111", "name": "李雷", "masked": True}
    assert pop["draft_order"]["confidential"] is True
    assert oldest in [o["number"] for o in pop["open_orders"]]
    assert answered not in [o["number"] for o in pop["open_orders"]]
    assert [h["number"] for h in pop["history"]] == numbers[:1:-1]


async def test_a_caller_who_never_asked_is_shown(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    numbers = await _orders_of_caller(sessions, 2)
    async with sessions() as session, session.begin():
        await session.execute(update(WorkOrder).values(confidential=False))
    async with sessions() as session:
        summary = await call_order.caller_summary(session, CALLER)
        assert not summary.confidential
        assert [o["number"] for o in summary.open_orders] == numbers[:1]
        assert await call_order.caller_summary(session, "") == NO_NUMBER  # no number, no orders
