"""The supervisors' command path through a real gateway and Redis: a supervisor's (or admin's)
ticket sends supervisor commands and no agent command, an agent's the reverse (both refused
`forbidden`, nothing reaches the stream, the connection stays); a supervisor's command goes
out sealed with its role and its own reply topic, and what is published there reaches that
supervisor only."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import ClientConnection, connect

from agent_gateway.edge.bus import Bus
from agent_gateway.edge.command_seal import check_seal, seal_key
from agent_gateway.edge.protocol import Role
from agent_gateway.edge.server import GatewayServer
from tests.integration.gateway.gateway_support import SECRET, recv_json, recv_until, ticket, ws_url
from tests.integration.gateway.test_gateway_input import command, ping_until_pong, submitted

FORCE_PAUSE = {"extension": "1001", "pause_reason": "培训", "reason": "培训时间到"}
SUPERVISOR_COMMANDS = [
    ("force_pause", FORCE_PAUSE),
    ("force_unpause", {"extension": "1001", "reason": "培训结束"}),
    ("force_logout", {"extension": "1001", "reason": "下班"}),
    ("move_queue", {"extension": "1001", "from_queue": "hotline", "to_queue": "complaint",
                    "reason": "投诉排队多"}),
    ("assign_queue", {"extension": "1901", "queue": "hotline", "reason": "排队多"}),
    ("spy_start", {"linkedid": "1700000000.1", "mode": "listen"}),
    ("spy_mode", {"mode": "barge"}),
    ("spy_leave", {}),
]  # fmt: skip


async def _desk(ws: ClientConnection) -> ClientConnection:
    await recv_until(ws, "hello")
    await recv_until(ws, "snapshot")
    return ws


@pytest.mark.parametrize(("name", "args"), SUPERVISOR_COMMANDS)
async def test_an_agents_ticket_cannot_send_supervisor_commands(
    gateway: GatewayServer, bus: Bus, name: str, args: dict[str, str]
) -> None:
    async with connect(ws_url(gateway.port, ticket())) as ws:
        await _desk(ws)
        await ws.send(command(name, args, id="s1"))
        [reply] = await ping_until_pong(ws)  # refused, and the connection serves on
        assert reply["id"] == "s1" and reply["ok"] is False
        assert reply["error"] == {
            "code": "forbidden", "message": f"only a supervisor or an admin may send {name}",
        }  # fmt: skip
    assert await bus.redis.xlen(bus.commands_stream) == 0


@pytest.mark.parametrize("role", ["supervisor", "admin"])
@pytest.mark.parametrize(
    ("name", "args"), [("pause", {"reason": "午餐"}), ("login", None), ("hold", None)]
)
async def test_a_supervisors_ticket_cannot_send_agent_commands(
    gateway: GatewayServer, bus: Bus, role: Role, name: str, args: dict[str, str] | None
) -> None:
    """Not even a supervisor bound to an agent's extension: its desk is the supervisor's."""
    supervisor = ticket(role, "1009", user_id=2, name="赵主管")
    async with connect(ws_url(gateway.port, supervisor)) as ws:
        await _desk(ws)
        await ws.send(command(name, args, id="a1"))
        [reply] = await ping_until_pong(ws)
        assert reply["id"] == "a1" and reply["ok"] is False
        assert reply["error"]["code"] == "forbidden", reply
        assert "may not send agent commands" in reply["error"]["message"]
    assert await bus.redis.xlen(bus.commands_stream) == 0


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_a_supervisors_command_is_sealed_with_its_role_and_own_reply_topic(
    gateway: GatewayServer, bus: Bus, role: Role
) -> None:
    async with connect(ws_url(gateway.port, ticket(role, None, user_id=2, name="张三"))) as ws:
        await _desk(ws)
        await ws.send(command("force_pause", FORCE_PAUSE, id="s1"))
        [sent] = await asyncio.wait_for(submitted(bus, 1), 3)
    check_seal(seal_key(SECRET), sent)  # the executor believes only a gateway's seal
    assert (sent["name"], sent["args"], sent["role"], sent["user_id"], sent["user_name"]) == (
        "force_pause", FORCE_PAUSE, role, 2, "张三",
    )  # fmt: skip
    assert sent["extension"] is None and sent["reply_topic"] == "user.2"


async def test_a_supervisors_own_topic_reaches_that_supervisor_only(
    gateway: GatewayServer, bus: Bus
) -> None:
    """Its command results and notices: not another supervisor's desktop, nor an agent's."""
    mine = ticket("supervisor", None, user_id=2, name="张三")
    other = ticket("supervisor", None, user_id=8, name="李四")
    async with (
        connect(ws_url(gateway.port, mine)) as zhang,
        connect(ws_url(gateway.port, other)) as li,
        connect(ws_url(gateway.port, ticket())) as agent,
    ):
        for ws in (zhang, li, agent):
            await _desk(ws)
        own = await bus.publish("user.2", {"type": "command_result", "id": "s1", "ok": True})
        shared = await bus.publish("supervisors", {"type": "queue_stats", "queue": "hotline"})
        got = [await recv_json(zhang), await recv_json(zhang)]
        assert [(m["type"], m["seq"]) for m in got] == [
            ("command_result", own), ("queue_stats", shared),
        ]  # fmt: skip
        assert (await recv_json(li))["seq"] == shared  # the shared one only
        await agent.send('{"type": "ping"}')
        assert (await recv_json(agent))["type"] == "pong"  # nothing of either came first


async def test_a_supervisor_resuming_gets_what_its_own_topic_missed(
    gateway: GatewayServer, bus: Bus
) -> None:
    seq = await bus.publish("user.2", {"type": "command_result", "id": "s9", "ok": True})
    await bus.publish("user.8", {"type": "command_result", "id": "x", "ok": True})
    url = ws_url(gateway.port, ticket("supervisor", None, user_id=2), last_seq=seq - 1)
    async with connect(url) as ws:
        await recv_until(ws, "hello")
        missed = await recv_json(ws)
        assert (missed["type"], missed["id"], missed["seq"]) == ("command_result", "s9", seq)
        await ws.send('{"type": "ping"}')
        assert json.loads(await ws.recv())["type"] == "pong"
