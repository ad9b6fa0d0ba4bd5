"""Agent desktops end to end: real Asterisk and SIPp, the real CRM, websocket clients on two
gateway processes sharing one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from crm.db.models import AuditEntry, OrderCall, WorkOrder
from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan, CallerResult
from telephony.call import CallState
from tests.e2e.harness import Centre, crm_user, register_order_over_http
from tests.integration.gateway.gateway_support import gateway_process

CALLER = CallerIdentity("张三丰", "13911112222")


class Desktop:
    """A websocket desktop that records every frame with the time it arrived."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):  # e.g. a revoked login (4401)
            async for raw in self.ws:
                async with self._arrived:
                    self.frames.append((time.time(), json.loads(raw)))
                    self._arrived.notify_all()

    async def wait_for(self, kind: str, timeout: float = 20, **match: Any) -> dict[str, Any]:
        async with asyncio.timeout(timeout), self._arrived:
            while True:
                for _, frame in self.frames:
                    if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                        return frame
                await self._arrived.wait()

    def arrival(self, frame: dict[str, Any]) -> float:
        return next(at for at, f in self.frames if f is frame)

    async def command(self, name: str, **args: Any) -> dict[str, Any]:
        command_id = f"{name}-{len(self.frames)}"
        await self.ws.send(json.dumps({"type": "command", "id": command_id, "name": name,
                                       "args": args}))
        return await self.wait_for("command_result", id=command_id)

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


async def _ticket(http: aiohttp.ClientSession, centre: Centre, token: str, ext: str | None) -> str:
    url = f"http://127.0.0.1:{centre.hotline.settings.http.port}/api/desk/ticket"
    body = {"extension": ext} if ext else {}
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        ticket: str = (await r.json())["ticket"]
        return ticket


@pytest.fixture
async def desktops(centre: Centre) -> AsyncIterator[dict[str, Desktop]]:
    """Agent 1001 on the backend's own gateway, agent 1002 and a supervisor on a second
    gateway process; both agents have a token of their own."""
    hotline = centre.hotline
    secret = hotline.settings.gateway.secret.get_secret_value().encode()
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        other = await stack.enter_async_context(gateway_process(hotline.redis_url, secret))
        ports = {"1001": hotline.gateway.port, "1002": other, "sup": other}
        found = {}
        for who, port in ports.items():
            role = Role.SUPERVISOR if who == "sup" else Role.AGENT
            token = await crm_user(centre, f"user {who}", role, None if who == "sup" else who)
            ticket = await _ticket(http, centre, token, None if who == "sup" else who)
            ws = await stack.enter_async_context(connect(f"ws://127.0.0.1:{port}/?ticket={ticket}"))
            found[who] = Desktop(ws)
            stack.push_async_callback(found[who].close)
            await found[who].wait_for("snapshot")
        yield found


async def _earlier_order(centre: Centre) -> str:
    token = await crm_user(centre, "受理员", Role.AGENT)
    order = {"text": "小区路灯不亮", "order_type": "help", "caller_name": CALLER.name,
             "caller_number": CALLER.number, "location": "幸福路 12 号"}  # fmt: skip
    return await register_order_over_http(centre, token, order)


async def test_pop_before_answer_then_order_with_the_linkedid(
    centre: Centre, desktops: dict[str, Desktop]
) -> None:
    earlier = await _earlier_order(centre)
    call = asyncio.create_task(
        centre.call([CALLER], CallerPlan(dtmf="2", dtmf_after_ms=600, hangup_after_ms=5000))
    )
    agents = {ext: desktops[ext] for ext in ("1001", "1002")}
    done, pending = await asyncio.wait(
        [asyncio.create_task(d.wait_for("screen_pop")) for d in agents.values()],
        timeout=20, return_when=asyncio.FIRST_COMPLETED,
    )  # fmt: skip
    for task in pending:
        task.cancel()  # the other desk was not rung (or not first)
    pop = done.pop().result()
    desk = agents[pop["extension"]]

    # The pop, complete, while the phone was still ringing.
    assert pop["caller"] == {"number": CALLER.number, "name": "张三丰", "masked": False}
    assert pop["ivr"] == {"choice": "2", "label": "complaint"} and pop["queue"] == "complaint"
    assert [h["number"] for h in pop["history"]] == [earlier]
    assert [h["number"] for h in pop["open_orders"]] == [earlier]
    talking = await desk.wait_for("call_update", call_id=pop["call_id"], state="talking")
    assert desk.arrival(pop) < desk.arrival(talking)
    tracked = centre.hotline.tracker.get(pop["call_id"])
    assert tracked is not None and tracked.answered_at is not None
    assert pop["ami_ts"] < tracked.answered_at

    # The order saved from the desktop carries the call's Linkedid.
    result = await desk.command("save_order", order={
        "order_type": "complaint", "text": "噪音扰民 夜间施工", "location": "建设路 8 号",
    })  # fmt: skip
    assert result["ok"], result
    # Saving again amends that order (one call, one order); the same form again changes nothing.
    corrected = {"order_type": "complaint", "text": "噪音扰民 夜间施工 已持续一周"}
    again = await desk.command("save_order", order=corrected)
    assert again["result"] == {**result["result"], "amended": ["text"]}, again
    same = await desk.command("save_order", order=corrected)
    assert same["result"] == {**result["result"], "amended": []}, same
    (other,) = (d for ext, d in agents.items() if ext != pop["extension"])
    stranger = await other.command("save_order", order={**corrected, "call_id": pop["call_id"]})
    assert stranger["error"]["code"] == "not_your_call", stranger  # rang there, not answered
    async with centre.hotline.sessions() as session:
        order = await session.scalar(
            select(WorkOrder).where(WorkOrder.number == result["result"]["number"])
        )
        assert order is not None and order.caller_number == CALLER.number
        assert (order.text, order.location) == (corrected["text"], "建设路 8 号")
        trail = await session.scalars(select(AuditEntry.action).where(
            AuditEntry.order_id == order.id).order_by(AuditEntry.id))  # fmt: skip
        assert list(trail) == ["register", "amend"]
        linked = await session.scalars(select(OrderCall.linkedid).where(
            OrderCall.order_id == order.id))  # fmt: skip
        assert list(linked) == [pop["call_id"]]

    assert (await call).ok
    ended = await desk.wait_for("call_update", call_id=pop["call_id"], state="ended")
    assert ended["reason"] == "hung up by caller"
    # The supervisor on the other gateway followed the same call, and the agent's presence.
    await desktops["sup"].wait_for("call_update", call_id=pop["call_id"], state="ended")
    await desktops["sup"].wait_for("presence", extension=pop["extension"], state="wrap_up")
    stats = await desktops["sup"].wait_for("queue_stats", queue="complaint")
    assert stats["queue"] == "complaint"


async def test_commands_confirmed_by_asterisk_and_refused_with_a_reason(
    centre: Centre, desktops: dict[str, Desktop]
) -> None:
    desk = desktops["1001"]
    snapshot = await desk.wait_for("snapshot")
    assert snapshot["presence"]["1001"]["state"] == "available"
    result = await desk.command("pause", reason="午餐")
    assert result["ok"], result
    paused = await desk.wait_for("presence", extension="1001", state="paused")
    assert paused["reason"] == "午餐"
    assert (await desk.command("unpause"))["ok"]
    await desk.wait_for("presence", extension="1001", state="available", reason=None)

    refused = await desk.command("hangup")
    assert refused["ok"] is False and refused["error"]["code"] == "no_call"
    refused = await desk.command("wrapup_done")
    assert refused["error"]["code"] == "not_in_wrap_up"
    refused = await desk.command("save_order", order={"order_type": "complaint", "text": "x",
                                                      "call_id": "no-such-call"})
    assert refused["error"]["code"] == "no_call"

    assert (await desk.command("logout"))["ok"]
    await desk.wait_for("presence", extension="1001", state="logged_out")
    assert (await desk.command("login"))["ok"]
    await desk.wait_for("presence", extension="1001", state="available", call_id=None)
    members = await centre.hotline.ami.action_list("QueueStatus", Queue="hotline")
    assert any(m.get("Location") == "PJSIP/1001" for m in members if m["Event"] == "QueueMember")
    assert centre.hotline.desk.presences["1001"].state.value == "available"
    assert all(c.state is not CallState.RINGING for c in centre.hotline.tracker.calls.values())


async def _answered_by_desktop(
    centre: Centre, desktops: dict[str, Desktop], caller: CallerIdentity, hangup_after_ms: int
) -> tuple[asyncio.Task[CallerResult], Desktop, str]:
    """Place a call and wait until one of the two agent desktops is talking on it."""
    call = asyncio.create_task(centre.call(
        [caller], CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=hangup_after_ms)
    ))  # fmt: skip
    agents = [desktops["1001"], desktops["1002"]]
    waits = [
        asyncio.create_task(d.wait_for("call_update", state="talking", agent_extension=ext))
        for d, ext in zip(agents, ("1001", "1002"), strict=True)
    ]
    done, pending = await asyncio.wait(waits, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    talking = done.pop().result()
    desk = agents[0] if talking["agent_extension"] == "1001" else agents[1]
    return call, desk, talking["call_id"]


async def test_agent_hangs_up_from_the_desktop(
    centre: Centre, desktops: dict[str, Desktop]
) -> None:
    caller = CallerIdentity("孙七", "13911113333")
    call, desk, call_id = await _answered_by_desktop(centre, desktops, caller, 15000)
    result = await desk.command("hangup")
    assert result["ok"] and result["result"]["call_id"] == call_id
    ended = await desk.wait_for("call_update", call_id=call_id, state="ended")
    assert ended["reason"] == "hung up by agent"
    await call  # the SIPp caller saw a BYE; whatever SIPp thinks of it, the call is over
    tracked = centre.hotline.tracker.get(call_id)
    assert tracked is not None and tracked.completed_by == "agent"


async def test_agent_blind_transfers_the_caller(
    centre: Centre, desktops: dict[str, Desktop]
) -> None:
    caller = CallerIdentity("周八", "13911114444")
    call, desk, call_id = await _answered_by_desktop(centre, desktops, caller, 6000)
    other = "1002" if desk is desktops["1001"] else "1001"
    result = await desk.command("transfer", target=other)
    assert result["ok"], result
    transferred = await desk.wait_for("call_update", call_id=call_id, state="transferred")
    assert transferred["agent_extension"] is not None
    assert (await call).ok  # the caller stayed on the line, talking to the other phone
    ended = await desk.wait_for("call_update", call_id=call_id, state="ended")
    assert ended["reason"]
    refused = await desk.command("transfer", target="110")
    assert refused["ok"] is False and refused["error"]["code"] == "no_call"


async def test_an_agent_gets_no_other_desk_and_is_cut_off_once_disabled(centre: Centre) -> None:
    """Through the running hotline's HTTP: agent 1001's token gets no ticket for 1002; once an
    admin disables the user, its desktops on both kinds of gateway close with 4401."""
    hotline = centre.hotline
    secret = hotline.settings.gateway.secret.get_secret_value().encode()
    base = f"http://127.0.0.1:{hotline.settings.http.port}"
    admin = await crm_user(centre, "管理员", Role.ADMIN)
    token = await crm_user(centre, "王芳", Role.AGENT, "1001")
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        other = await stack.enter_async_context(gateway_process(hotline.redis_url, secret))
        auth = {"Authorization": f"Bearer {token}"}
        async with http.post(f"{base}/api/desk/ticket", json={"extension": "1002"},
                             headers=auth) as r:  # fmt: skip
            assert r.status == 403 and (await r.json())["error"]["code"] == "not_your_extension"
        async with http.post(f"{base}/api/desk/ticket", json={}, headers=auth) as r:
            user_id = (await r.json())["user"]["id"]
        desks = []
        for port in (hotline.gateway.port, other):
            ticket = await _ticket(http, centre, token, "1001")
            ws = await stack.enter_async_context(connect(f"ws://127.0.0.1:{port}/?ticket={ticket}"))
            desks.append(Desktop(ws))
            await desks[-1].wait_for("snapshot")
        async with http.patch(f"{base}/api/users/{user_id}", json={"active": False},
                              headers={"Authorization": f"Bearer {admin}"}) as r:  # fmt: skip
            assert r.status == 200, await r.text()
        disabled_at = time.monotonic()
        for desk in desks:
            await asyncio.wait_for(desk.ws.wait_closed(), 30)
            assert desk.ws.close_code == 4401
        print(f"desktops closed {time.monotonic() - disabled_at:.1f} s after the user was disabled")
        async with http.post(f"{base}/api/desk/ticket", json={}, headers=auth) as r:
            assert r.status == 401
