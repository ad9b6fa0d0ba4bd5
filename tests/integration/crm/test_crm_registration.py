"""Registration's fast path: what it answers is what it stored, in one transaction, and the
caches in front of it (tokens, calendar) never outlive their bound: a calendar edit is seen at
once, also by the desk in another process."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_gateway.desk.orders import DeskOrders
from crm.api import create_app
from crm.db.engine import create_engine, session_factory
from crm.db.models import AuditEntry, OrderCall, OrderSequence, User, WorkOrder
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.enums import Channel, OrderType, Role
from crm.domain.lifecycle import Actor
from crm.repo.directory import create_user
from crm.repo.orders import REPEAT_QUERIES
from crm.segmenter import Segmenter
from crm.usecases.register import CallRef, NewOrder, register_order
from telephony.call import Call, CallState
from tests.integration.crm.crm_support import START, Api, FakeClock, seed

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_answer_is_what_was_stored(api: Api) -> None:
    first = await api.new_order(caller_number="13700000000", location="人民路1号")
    order = await api.new_order(
        caller_number="13700000000",
        caller_name="王五",
        location="人民路1号",
        urgency="urgent",
        severity="major",
        calls=[
            {"linkedid": "1727575200.1"},
            {"linkedid": "1727575200.2", "recording": "20250929/1727575200.2.wav"},
            # the recording, reported later
            {"linkedid": "1727575200.1", "recording": "20250929/1727575200.1.wav"},
        ],
    )
    status, stored = await api.get(f"/api/orders/{order['id']}")
    assert status == 200 and stored == order
    assert order["repeat_of_id"] == first["id"]
    assert [(k["linkedid"], k["recording"]) for k in order["calls"]] == [
        ("1727575200.1", "20250929/1727575200.1.wav"),
        ("1727575200.2", "20250929/1727575200.2.wav"),
    ]
    entry, alert = await api.audit(order["id"])  # a major matter alerts at once
    assert (entry["action"], entry["from_status"], entry["to_status"]) == (
        "register",
        None,
        "registered",
    )
    assert entry["detail"] == {"number": order["number"], "repeat_of": first["id"]}
    assert (alert["action"], alert["detail"]["kind"]) == ("alert", "severity")


async def _count(engine: AsyncEngine, model: type[Any]) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


async def test_registration_is_one_transaction(engine: AsyncEngine) -> None:
    """Its statements bypass the ORM but not the transaction: a rollback leaves no trace."""
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        user, _ = await create_user(session, "agent", Role.AGENT, None)
    new = NewOrder(
        channel=Channel.PHONE,
        text="路灯不亮",
        order_type=OrderType.HELP,
        caller_number="13600000000",
        calls=(CallRef("1727575200.9"),),
    )
    with pytest.raises(RuntimeError, match="after registering"):
        async with sessions() as session, session.begin():
            await register_order(session, new, Actor(user.id, Role.AGENT, None),
                                 centre_code="SZ12345", now=START,
                                 calendar=ChineseWorkCalendar())  # fmt: skip
            raise RuntimeError("after registering")
    for model in (WorkOrder, OrderCall, AuditEntry, OrderSequence):
        assert await _count(engine, model) == 0
    async with engine.connect() as conn:  # no transaction yet: registering begins one
        await register_order(conn, new, Actor(user.id, Role.AGENT, None), centre_code="SZ12345",
                             now=START, calendar=ChineseWorkCalendar())  # fmt: skip
        await conn.commit()
    for model in (WorkOrder, OrderCall, AuditEntry, OrderSequence):
        assert await _count(engine, model) == 1


async def test_repeat_lookups_use_the_open_order_indexes(engine: AsyncEngine) -> None:
    """The literal open-status predicate must keep matching the partial indexes' own."""
    async with engine.connect() as conn:
        compiled = REPEAT_QUERIES[(True, True)].compiled(conn.dialect)
        values = {"caller_number": "1", "location": "人民路1号", "order_type": OrderType.HELP}
        params = compiled.parameters(values)
        if conn.dialect.name == "sqlite":
            explain = "EXPLAIN QUERY PLAN "
        else:
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            explain = "EXPLAIN "
        plan = " ".join(
            str(row[-1])
            for row in await conn.exec_driver_sql(
                explain + compiled.sql, params if isinstance(params, dict) else tuple(params)
            )
        )
    assert "ix_work_orders_open_caller" in plan and "ix_work_orders_open_location" in plan


async def test_a_2027_due_date_skips_the_predicted_spring_festival_and_says_so(api: Api) -> None:
    api.clock.now = api.clock.now.replace(year=2027, month=1, day=15)  # Friday
    order = await api.new_order(order_type="complaint")
    # 15 working days: Jan 18-22, Jan 25-29, Feb 1-4, then 除夕 Feb 5 to Feb 10 off (初一~初三
    # and the two days made up for the weekend), Feb 11; Monday to Friday it was 除夕 itself
    assert (order["due_date"], order["due_provisional"]) == ("2027-02-11", True)
    assert order["due_date_note"] == "预估：按法定节假日规则推算，未含尚未公布的调休安排"
    status, stored = await api.get(f"/api/orders/{order['id']}")
    assert status == 200
    assert (stored["due_date"], stored["due_date_note"]) == ("2027-02-11", order["due_date_note"])
    api.clock.now = api.clock.now.replace(year=2026, month=12, day=1)
    today = await api.new_order(order_type="consultation")
    final = (today["due_date"], today["due_provisional"], today["due_date_note"])
    assert final == ("2026-12-02", False, None)


async def test_calendar_edits_apply_to_the_next_order(api: Api) -> None:
    api.clock.now = api.clock.now.replace(year=2026, month=12, day=24)
    before = await api.new_order(order_type="complaint")  # the calendar is cached now
    assert (before["due_date"], before["due_provisional"]) == ("2027-01-15", True)
    days = [
        {"day": "2027-01-01", "workday": False, "name": "元旦"},
        {"day": "2027-01-04", "workday": False, "name": "元旦"},
    ]
    put = {"days": days, "published_years": [2027]}
    status, _ = await api.call("PUT", "/api/calendar/days", "admin", json=put)
    assert status == 200
    after = await api.new_order(order_type="complaint")
    assert (after["due_date"], after["due_provisional"]) == ("2027-01-18", False)


async def test_a_calendar_edit_in_the_http_process_reaches_the_desk_at_once(
    api: Api, database_url: str
) -> None:
    """Admins edit the calendar through the API (the HTTP process), agents save orders at the
    desk (the call process): each with its engine and calendar cache, as in production."""
    api.clock.now = api.clock.now.replace(year=2026, month=12, day=24)
    desk_engine = create_engine(database_url)
    try:
        desk = DeskOrders(session_factory(desk_engine), "SZ12345", clock=api.clock)
        agent = api.seed.user_ids["agent"]
        form = {"order_type": "complaint", "text": "路灯不亮", "location": "幸福路"}
        before = await desk.save(agent, "agent", form, _call("1800000000.1"))
        assert before["due_date"] == "2027-01-15"  # the desk's calendar is cached now
        days = [
            {"day": "2027-01-01", "workday": False, "name": "元旦"},
            {"day": "2027-01-04", "workday": False, "name": "元旦"},
        ]
        put = {"days": days, "published_years": [2027]}
        status, _ = await api.call("PUT", "/api/calendar/days", "admin", json=put)
        assert status == 200
        after = await desk.save(agent, "agent", form, _call("1800000000.2"))
        assert (after["due_date"], after["due_date_note"]) == ("2027-01-18", None)
    finally:
        await desk_engine.dispose()


def _call(linkedid: str) -> Call:
    return Call(linkedid, linkedid, "PJSIP/carrier-00000001", "13800001111", "李雷",
                1_800_000_000.0, CallState.TALKING)  # fmt: skip


async def test_a_disabled_token_stops_working_within_the_cache_ttl(
    engine: AsyncEngine, clock: FakeClock, segmenter: Segmenter
) -> None:
    sessions = session_factory(engine)
    seeded = await seed(sessions)
    ttl = timedelta(milliseconds=200)
    app = create_app(sessions, centre_code="SZ12345", clock=clock, segmenter=segmenter,
                     cache_ttl_s=ttl.total_seconds())  # fmt: skip
    async with TestClient(TestServer(app)) as client:
        api = Api(client, seeded, clock)
        status, _ = await api.get("/api/units")
        assert status == 200
        async with sessions() as session, session.begin():
            await session.execute(
                update(User).where(User.id == seeded.user_ids["agent"]).values(active=False)
            )
        await asyncio.sleep(ttl.total_seconds())
        status, err = await api.get("/api/units")
        assert (status, err["error"]["code"]) == (401, "unauthenticated")
        status, _ = await api.get("/api/units", "supervisor")  # other tokens are unaffected
        assert status == 200
