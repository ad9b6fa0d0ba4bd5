"""A major matter registered through the HTTP process reaches a supervisor's real websocket
at once, through the whole backend (`running_hotline`: Asterisk, Redis, the call process's
alert publisher, its gateway), naming the duty leaders; pushed once. The duty leader (by CRM
user id, bound to an agent extension) gets it on its own desk; an agent merely named like
the leader gets nothing and is refused the alerts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from config.emergency_settings import Emergency
from config.settings import Settings
from crm.db.engine import create_engine, session_factory
from crm.db.migrate import migrate
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.usecases.users import add_user
from hotline_cli.app import Hotline, running_hotline
from tests.e2e.harness import e2e_settings, post_order

LEADER = "值班领导"


async def _supervisor_token(hotline: Hotline) -> str:
    async with hotline.sessions() as session, session.begin():
        _, token = await add_user(session, None, utc_now(), "赵主管", Role.SUPERVISOR, None, None)
    await hotline.desk_users.publish()
    return token


async def _agents(settings: Settings) -> tuple[tuple[int, str], str]:
    """Before the backend starts (the duty leaders are start-up settings): the duty leader at
    desk 1002 (its id and token) and another agent of the same name at 1001 (its token)."""
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session, session.begin():
            now = utc_now()
            leader, token = await add_user(session, None, now, LEADER, Role.AGENT, None, "1002")
            _, namesake = await add_user(session, None, now, LEADER, Role.AGENT, None, "1001")
            return (leader.id, token), namesake
    finally:
        await engine.dispose()


async def _ticket(http: aiohttp.ClientSession, base: str, token: str) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{base}/api/desk/ticket", json={}, headers=auth) as r:
        assert r.status == 200, await r.text()
        ticket: str = (await r.json())["ticket"]
        return ticket


async def _frame(ws: ClientConnection, timeout: float) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return frame


async def _next_alert(ws: ClientConnection, timeout: float) -> dict[str, Any]:
    """The next alert about an order: the packaged trunks' far ends answer no qualify, so
    their legs' centre alerts (trunk_down, no order) come too."""
    async with asyncio.timeout(timeout):
        while (frame := await _frame(ws, timeout))["type"] != "alert" or (
            frame["order_id"] is None
        ):
            pass
    return frame


async def test_a_major_matter_alerts_the_supervisors_desk_once(tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path)
    (leader_id, leader_token), namesake_token = await _agents(settings)
    settings = settings.model_copy(
        update={"emergency": Emergency(duty_leaders=(leader_id,), clock_interval_s=0.5)}
    )
    async with running_hotline(settings) as hotline, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{settings.http.port}"
        token = await _supervisor_token(hotline)
        auth = {"Authorization": f"Bearer {token}"}
        ws_base = f"ws://127.0.0.1:{hotline.gateway.port}/?ticket="
        async with (
            connect(ws_base + await _ticket(http, base, token)) as ws,
            connect(ws_base + await _ticket(http, base, leader_token)) as leader,
            connect(ws_base + await _ticket(http, base, namesake_token)) as namesake,
        ):
            for desk in (ws, leader, namesake):
                assert (await _frame(desk, 10))["type"] == "hello"
            order = await post_order(base, token, {
                "order_type": "fire", "text": "仓库起火，火势较大", "severity": "serious",
                "caller_number": "13911112222",
            })  # fmt: skip
            alert = await _next_alert(ws, 30)
            assert (alert["kind"], alert["order_id"], alert["order_number"]) == (
                "severity",
                order["id"],
                order["number"],
            )
            assert (alert["line"], alert["severity"], alert["duty_leaders"]) == (
                "119",
                "serious",
                [LEADER],
            )
            assert alert["message"] == f"重大事件工单 {order['number']}，请值班领导及时掌握"
            assert "13911112222" not in json.dumps(alert, ensure_ascii=False)
            at_desk = await _next_alert(leader, 30)  # the duty leader's own agent desk
            assert {**at_desk, "seq": None} == {**alert, "seq": None}
            for desk in (ws, leader, namesake):  # rounds go by: not pushed again, nor to 1001
                try:
                    extra = await _next_alert(desk, 3)
                except TimeoutError:
                    extra = None
                assert extra is None, extra
        async with http.get(f"{base}/api/alerts", headers=auth) as r:
            listed = await r.json()
        assert r.status == 200 and listed["duty_leaders"] == [LEADER]  # the HTTP process too
        (stored,) = _about_orders(listed["items"])
        assert stored["id"] == alert["alert_id"] and stored["published_at"] is not None
        async with http.get(f"{base}/api/alerts", headers=_bearer(leader_token)) as r:
            assert r.status == 200 and len(_about_orders((await r.json())["items"])) == 1
        path = f"{base}/api/alerts/{stored['id']}/ack"
        for method, url in (("GET", f"{base}/api/alerts"), ("POST", path)):
            kw: dict[str, Any] = {"json": {"note": "收到"}} if method == "POST" else {}
            async with http.request(method, url, headers=_bearer(namesake_token), **kw) as r:
                assert r.status == 403, await r.text()  # named like the leader: not the leader


def _about_orders(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in items if a["order_id"] is not None]  # not the trunks' centre alerts


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
