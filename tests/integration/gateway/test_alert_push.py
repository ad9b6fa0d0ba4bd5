"""An alert raised in the CRM reaches a real supervisor's websocket, once: the publisher of
the call process pushes it through the desk's outbox writer and Redis to the gateway; an
agent's desktop never sees it, unless that agent is a duty leader (by CRM user id), whose
own desk gets it too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from websockets.asyncio.client import connect

from agent_gateway.desk.outbox import OutboxWriter
from agent_gateway.edge.admission import allow_desk_user
from agent_gateway.edge.alert_message import Alert
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.protocol import SUPERVISORS
from agent_gateway.edge.server import GatewayServer
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.exchange_models import OrderAlert
from crm.db.migrate import migrate
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.emergency import EmergencyRules
from crm.domain.enums import Channel, OrderType, Role, Severity
from crm.domain.lifecycle import Actor
from crm.repo.directory import create_user
from crm.usecases.register import NewOrder, register_order
from hotline_cli.alert_publisher import AlertPublisher
from tests.integration.gateway.gateway_support import (
    recv_json,
    recv_until,
    ticket,
    wait_until,
    ws_url,
)

REGISTERED = datetime(2026, 12, 1, 8, 0, 0)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    await migrate(engine)
    yield session_factory(engine)
    await engine.dispose()


async def _leader(sessions: SessionFactory, extension: str | None) -> int:
    async with sessions() as session, session.begin():
        leader, _ = await create_user(
            session, "值班领导", Role.AGENT, None, agent_extension=extension
        )
        return leader.id


async def _major_fire(sessions: SessionFactory) -> tuple[int, str]:
    async with sessions() as session, session.begin():
        user, _ = await create_user(session, "受理员", Role.AGENT, None)
        order = await register_order(
            session,
            NewOrder(Channel.PHONE, "仓库起火", OrderType.FIRE, caller_number="13800000000",
                     severity=Severity.MAJOR),
            Actor(user.id, Role.AGENT, None), centre_code="SZ12345", now=REGISTERED,
            calendar=ChineseWorkCalendar(),
        )  # fmt: skip
        return order.id, order.number


async def test_an_alert_reaches_the_supervisors_desk_once(
    gateway: GatewayServer, bus: Bus, sessions: SessionFactory
) -> None:
    rules = EmergencyRules(duty_leaders=(await _leader(sessions, None),))  # no desk
    order_id, number = await _major_fire(sessions)
    async with (
        OutboxWriter(bus) as writer,
        connect(ws_url(gateway.port, ticket("supervisor", None, user_id=2))) as supervisor,
        connect(ws_url(gateway.port, ticket("agent", "1001", user_id=7))) as agent,
    ):
        for ws in (supervisor, agent):
            await recv_until(ws, "hello")
            await recv_until(ws, "snapshot")
        publisher = AlertPublisher(sessions, writer.publish, rules, interval_s=0.05)
        async with publisher:
            message = await recv_until(supervisor, "alert", timeout=20)
            runs = publisher.runs
            await asyncio.wait_for(wait_until(lambda: publisher.runs >= runs + 3, 20), 25)
        assert publisher.failures == 0 and publisher.published == 1
        assert message.pop("seq") > 0
        Alert.model_validate(message)  # the documented shape
        assert message == {
            "type": "alert", "alert_id": message["alert_id"], "kind": "severity",
            "order_id": order_id, "subject": "", "order_number": number, "order_type": "fire",
            "severity": "major", "stability_clue": False, "line": "119",
            "raised_at": REGISTERED.replace(tzinfo=UTC).timestamp(), "due_at": None,
            "duty_leaders": ["值班领导"], "message": f"较大事件工单 {number}，请值班领导及时掌握",
            "detail": {"at": "registration"},
        }  # fmt: skip
        assert "13800000000" not in str(message)  # no caller number on the desks' bus
        with pytest.raises(TimeoutError):  # pushed once: nothing more for either desk
            await recv_json(supervisor, timeout=0.5)
        with pytest.raises(TimeoutError):
            await recv_json(agent, timeout=0.2)
    async with sessions() as session:
        published = await session.scalar(select(OrderAlert.published_at))
    assert published is not None


async def test_a_duty_leader_at_a_desk_gets_the_alert_on_it(
    gateway: GatewayServer,
    bus: Bus,
    redis: Redis,
    sessions: SessionFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    leader = await _leader(sessions, "1002")
    await allow_desk_user(redis, leader, 1)  # as the ticket endpoint does
    # an id that is no user: left out of the names, the alert still goes out
    rules = EmergencyRules(duty_leaders=(leader, 999))
    order_id, number = await _major_fire(sessions)
    async with (
        OutboxWriter(bus) as writer,
        connect(ws_url(gateway.port, ticket("supervisor", None, user_id=2))) as supervisor,
        connect(ws_url(gateway.port, ticket("agent", "1002", user_id=leader))) as desk,
        connect(ws_url(gateway.port, ticket("agent", "1001", user_id=7))) as agent,
    ):
        for ws in (supervisor, desk, agent):
            await recv_until(ws, "hello")
            await recv_until(ws, "snapshot")
        publisher = AlertPublisher(sessions, writer.publish, rules, interval_s=0.05)
        async with publisher:
            at_desk = await recv_until(desk, "alert", timeout=20)
            on_page = await recv_until(supervisor, "alert", timeout=20)
            runs = publisher.runs
            await asyncio.wait_for(wait_until(lambda: publisher.runs >= runs + 3, 20), 25)
        assert publisher.failures == 0 and publisher.published == 1
        assert at_desk.pop("seq") > 0 and on_page.pop("seq") > 0
        Alert.model_validate(at_desk)
        assert (at_desk["alert_id"], at_desk["order_id"], at_desk["order_number"]) == (
            on_page["alert_id"], order_id, number,
        )  # fmt: skip
        assert at_desk["duty_leaders"] == on_page["duty_leaders"] == ["值班领导"]
        with pytest.raises(TimeoutError):  # once at the leader's desk, never at another's
            await recv_json(desk, timeout=0.5)
        with pytest.raises(TimeoutError):
            await recv_json(agent, timeout=0.2)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "999" in errors[0].getMessage()  # once, not every round


async def test_an_alert_is_published_only_once_every_push_was_accepted(
    gateway: GatewayServer, bus: Bus, redis: Redis, sessions: SessionFactory
) -> None:
    leader = await _leader(sessions, "1002")
    await allow_desk_user(redis, leader, 1)
    await _major_fire(sessions)
    refused: list[str] = []
    async with (
        OutboxWriter(bus) as writer,
        connect(ws_url(gateway.port, ticket("supervisor", None, user_id=2))) as supervisor,
        connect(ws_url(gateway.port, ticket("agent", "1002", user_id=leader))) as desk,
    ):
        for ws in (supervisor, desk):
            await recv_until(ws, "hello")
            await recv_until(ws, "snapshot")

        async def publish(topic: str, body: Mapping[str, Any]) -> int:
            if topic != SUPERVISORS and not refused:  # the leader's push fails once
                refused.append(topic)
                raise ConnectionError("redis went away")
            return await writer.publish(topic, body)

        rules = EmergencyRules(duty_leaders=(leader,))
        publisher = AlertPublisher(sessions, publish, rules, interval_s=0.05)
        async with publisher:
            first = await recv_until(supervisor, "alert", timeout=20)
            at_desk = await recv_until(desk, "alert", timeout=20)
            again = await recv_until(supervisor, "alert", timeout=20)  # the round tried again
        assert refused == ["agent.1002"]
        assert (publisher.failures, publisher.published) == (1, 1)
        assert first["alert_id"] == again["alert_id"] == at_desk["alert_id"]
