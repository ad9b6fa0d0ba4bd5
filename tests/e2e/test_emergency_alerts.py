"""A major matter registered through the HTTP process reaches a supervisor's real websocket
at once, through the whole backend (`running_hotline`: Asterisk, Redis, the call process's
alert publisher, its gateway), naming the duty leaders; pushed once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from config.settings import Emergency
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


async def _frame(ws: ClientConnection, timeout: float) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return frame


async def _next_alert(ws: ClientConnection, timeout: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while (frame := await _frame(ws, timeout))["type"] != "alert":
            pass
    return frame


async def test_a_major_matter_alerts_the_supervisors_desk_once(tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path).model_copy(
        update={"emergency": Emergency(duty_leaders=(LEADER,), clock_interval_s=0.5)}
    )
    async with running_hotline(settings) as hotline, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{settings.http.port}"
        token = await _supervisor_token(hotline)
        auth = {"Authorization": f"Bearer {token}"}
        async with http.post(f"{base}/api/desk/ticket", json={}, headers=auth) as r:
            assert r.status == 200, await r.text()
            ticket = (await r.json())["ticket"]
        url = f"ws://127.0.0.1:{hotline.gateway.port}/?ticket={ticket}"
        async with connect(url) as ws:
            assert (await _frame(ws, 10))["type"] == "hello"
            assert (await _frame(ws, 10))["type"] == "snapshot"
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
            try:  # rounds of the publisher go by: the alert is not pushed again
                extra = await _next_alert(ws, 3)
            except TimeoutError:
                extra = None
            assert extra is None, extra
        async with http.get(f"{base}/api/alerts", headers=auth) as r:
            listed = await r.json()
        assert r.status == 200 and listed["duty_leaders"] == [LEADER]  # the HTTP process too
        (stored,) = listed["items"]
        assert stored["id"] == alert["alert_id"] and stored["published_at"] is not None
