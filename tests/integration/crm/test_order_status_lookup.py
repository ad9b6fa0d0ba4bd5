"""The IVR's order-status port over a real (SQLite) CRM: what it reads, how numbers compare,
what it logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.migrate import migrate
from crm.domain.clock import local_date, utc_now
from crm.domain.commands import Dispatch
from crm.domain.enums import Channel, OrderType, Role, UnitKind
from crm.domain.lifecycle import Actor
from crm.repo.calendar import load_calendar
from crm.repo.directory import create_unit, create_user
from crm.usecases.register import NewOrder, register_order
from crm.usecases.transition import apply_command
from hotline_cli.order_lookup import OrderStatusLookup
from ivr.order_status_rules import Stage

CENTRE = "LY"


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    await migrate(engine)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def registered(
    sessions: SessionFactory, phone: str, *, confidential: bool = False, dispatch: bool = True
) -> str:
    """An order of `phone` (dispatched to 市城管局 unless not), its number's digits."""
    async with sessions() as session, session.begin():
        user, _ = await create_user(session, f"受理员{phone}", Role.AGENT, None)
        taker = Actor(user_id=user.id, role=Role.AGENT, unit_id=None)
        calendar = await load_calendar(session)
        order = await register_order(
            session,
            NewOrder(Channel.PHONE, "噪音扰民", OrderType.COMPLAINT, caller_number=phone,
                     confidential=confidential),
            taker, centre_code=CENTRE, now=utc_now(), calendar=calendar,
        )  # fmt: skip
        if dispatch:
            unit = await create_unit(session, f"CG{phone[-4:]}", "市城管局", UnitKind.DEPARTMENT)
            await apply_command(
                session, order.id, Dispatch(unit.id), taker, now=utc_now(), calendar=calendar
            )
    return order.number.removeprefix(f"{CENTRE}-").replace("-", "")


async def test_an_order_read_by_its_digits_with_unit_and_deadline(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    digits = await registered(sessions, "+8613800138001")
    lookup = OrderStatusLookup(sessions, CENTRE)
    with caplog.at_level(logging.INFO, "hotline_cli.order_lookup"):
        found = await lookup.order(digits, "1.1")
    assert found is not None
    assert found.phone == "13800138001"  # national: compares with a caller ID either way
    assert (found.stage, found.unit, found.confidential) == (Stage.HANDLING, "市城管局", False)
    assert found.registered == local_date(utc_now()) and found.due is not None
    assert "138****8001" in caplog.text and "13800138001" not in caplog.text


async def test_unknown_order_and_bad_digits(sessions: SessionFactory) -> None:
    lookup = OrderStatusLookup(sessions, CENTRE)
    assert await lookup.order("20260302999999", "1.2") is None
    with pytest.raises(ValueError, match="14 digits"):
        await lookup.order("2026' OR 1=1 --", "1.2")


async def test_the_callers_newest_open_order_by_caller_id(sessions: SessionFactory) -> None:
    await registered(sessions, "13800138002", dispatch=False)
    await registered(sessions, "13800138002", confidential=True)
    lookup = OrderStatusLookup(sessions, CENTRE)
    newest = await lookup.open_order_of("+8613800138002", "1.3")
    assert newest is not None and newest.confidential  # the flow will not offer it
    assert await lookup.open_order_of("13900000000", "1.3") is None
    assert await lookup.open_order_of("anonymous", "1.3") is None  # no number: no query
    assert lookup.national("0086 138-0013-8002") == "13800138002"


async def test_a_caller_id_with_an_orders_number_in_it_is_offered_nothing_and_logged(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Letters, SQL or control characters around the order's phone make no phone number: no
    order is offered (the caller keys the number in), and the log says so without the ID."""
    await registered(sessions, "13800138003")
    lookup = OrderStatusLookup(sessions, CENTRE)
    caplog.set_level(logging.INFO, logger="hotline_cli.order_lookup")
    for hostile in (
        "13800138003'--",
        "13800138003\x7f",
        "<b>13800138003</b>",
        "１３８００１３８００３",
    ):
        assert await lookup.open_order_of(hostile, "1.4") is None
        assert lookup.national(hostile) is None
    said = [r.getMessage() for r in caplog.records]
    assert said == ["IVR '1.4': caller ID is no phone number: no order offered"] * 4
