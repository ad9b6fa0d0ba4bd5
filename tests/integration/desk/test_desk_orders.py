"""The order of a call as desktops save it, on a real (SQLite) CRM database: one order per
call, corrected by saving again until it is dispatched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_gateway.desk.orders import DeskOrders, OrderRejected
from crm.db.engine import create_engine, session_factory
from crm.db.exchange_models import OrderAlert
from crm.db.migrate import migrate
from crm.db.models import WorkOrder
from crm.domain.clock import utc_now
from crm.domain.commands import Dispatch
from crm.domain.enums import AlertKind, Role, UnitKind
from crm.domain.lifecycle import Actor
from crm.repo.calendar import load_calendar
from crm.repo.directory import create_unit, create_user
from crm.usecases.transition import apply_command
from telephony.call import Call, CallState

CALL = Call("1700000000.7", "1700000000.7", "PJSIP/carrier-00000007", "13800001111", "李雷",
            1_700_000_000.0, CallState.TALKING, recording="20261122/1700000000.7.wav")  # fmt: skip


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    await migrate(engine)
    yield engine
    await engine.dispose()


async def test_saving_again_amends_until_dispatched(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        agent, _ = await create_user(session, "agent", Role.AGENT, None)
        unit = await create_unit(session, "URBAN", "城市管理局", UnitKind.DEPARTMENT)
    desk = DeskOrders(sessions, "SZ12345")
    form = {"order_type": "complaint", "text": "路灯不亮", "location": "幸福路"}

    saved = await desk.save(agent.id, "agent", form, CALL)
    assert saved.keys() == {
        "order_id", "number", "call_id", "due_date", "due_date_note", "transfer_due_at"
    }  # fmt: skip
    assert saved["transfer_due_at"] is None  # no emergency: no 10-minute clock
    fixed = await desk.save(agent.id, "agent", {**form, "text": "路灯不亮一周"}, CALL)
    assert fixed == {**saved, "amended": ["text"]}
    with pytest.raises(OrderRejected) as bad:
        await desk.save(agent.id, "agent", {**form, "text": ""}, CALL)
    assert bad.value.field == "text"

    async with sessions() as session, session.begin():
        actor = Actor(agent.id, Role.AGENT, None)
        await apply_command(
            session, saved["order_id"], Dispatch(lead_unit_id=unit.id), actor,
            now=utc_now(), calendar=await load_calendar(session),
        )  # fmt: skip
    with pytest.raises(OrderRejected, match="no longer be amended"):
        await desk.save(agent.id, "agent", {**form, "text": "再改"}, CALL)


async def test_the_saved_order_tells_its_time_limit_and_whether_it_may_move(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        agent, _ = await create_user(session, "agent", Role.AGENT, None)
    form = {"order_type": "complaint", "text": "路灯不亮", "location": "幸福路"}

    today = DeskOrders(sessions, "SZ12345", clock=lambda: datetime(2026, 12, 1, 2, 0))
    saved = await today.save(agent.id, "agent", {**form, "order_type": "consultation"}, CALL)
    assert (saved["due_date"], saved["due_date_note"]) == ("2026-12-02", None)  # Tue -> Wed

    # Fri Jan 15 2027, a year chinese-calendar does not know: 15 working days skip the
    # predicted Spring Festival (除夕 Feb 5 to Feb 10 off) and fall due on Feb 11, provisionally
    later = DeskOrders(sessions, "SZ12345", clock=lambda: datetime(2027, 1, 15, 2, 0))
    call = replace(CALL, linkedid="1800000000.1", uniqueid="1800000000.1")
    saved = await later.save(agent.id, "agent", form, call)
    assert saved["due_date"] == "2027-02-11"
    assert saved["due_date_note"] == "预估：按法定节假日规则推算，未含尚未公布的调休安排"
    # retyped as a consultation: one working day, Mon Jan 18, still provisional
    fixed = await later.save(agent.id, "agent", {**form, "order_type": "consultation"}, call)
    assert (fixed["due_date"], fixed["amended"]) == ("2027-01-18", ["order_type"])
    assert fixed["due_date_note"] == saved["due_date_note"]


async def test_a_stability_clue_saved_at_the_desk_runs_on_the_clock_to_110(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        agent, _ = await create_user(session, "agent", Role.AGENT, None)
    taken = datetime(2026, 12, 1, 2, 0)
    desk = DeskOrders(sessions, "SZ12345", clock=lambda: taken)
    form = {"order_type": "complaint", "text": "有人串联聚集", "stability_clue": True}
    saved = await desk.save(agent.id, "agent", form, CALL)
    with pytest.raises(OrderRejected, match="only a supervisor"):  # the agent cannot untick it
        await desk.save(agent.id, "agent", {**form, "stability_clue": False}, CALL)
    async with sessions() as session:
        order = await session.get(WorkOrder, saved["order_id"])
        assert order is not None and order.stability_clue
        assert order.transfer_due_at == datetime(2026, 12, 1, 2, 10)
        kinds = (await session.scalars(select(OrderAlert.kind))).all()
    assert kinds == [AlertKind.STABILITY_CLUE]
