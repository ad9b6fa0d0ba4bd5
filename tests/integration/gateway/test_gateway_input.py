"""What desktops send: commands reach the backend's stream with the sender's identity; bad
input, oversized frames and floods are refused clearly and leave everything else intact."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agent_gateway.edge.bus import Bus
from agent_gateway.edge.server import GatewayServer
from tests.integration.gateway.gateway_support import recv_json, recv_until, ticket, ws_url


@pytest.fixture
async def agent(gateway: GatewayServer) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(gateway.port, ticket())) as ws:
        await recv_until(ws, "hello")
        await recv_until(ws, "snapshot")
        yield ws


async def submitted(bus: Bus, count: int) -> list[dict[str, Any]]:
    """The next `count` commands on the commands stream, as the backend reads them."""
    commands = []
    async with aclosing(bus.commands()) as stream:
        async for entry in stream:
            await bus.ack_command(entry.entry_id)
            commands.append(entry.command)
            if len(commands) == count:
                return commands
    raise AssertionError("unreachable")


def command(name: str, args: dict[str, Any] | None = None, id: str = "c1") -> str:
    message: dict[str, Any] = {"type": "command", "id": id, "name": name}
    if args is not None:
        message["args"] = args
    return json.dumps(message, ensure_ascii=False)


async def ping_until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """Once a pong comes back, every earlier message has been handled (in order); returns
    the command results received meanwhile. Pings refused by the rate limit are retried."""
    results = []
    while True:
        await ws.send('{"type": "ping"}')
        while (reply := await recv_json(ws))["type"] == "command_result":
            results.append(reply)
        if reply["type"] == "pong":
            return results
        assert reply["code"] == "rate_limited", reply
        await asyncio.sleep(0.05)


async def test_commands_reach_the_backend_with_the_senders_identity(
    agent: ClientConnection, bus: Bus
) -> None:
    await agent.send(command("login", {"queues": ["general"]}, id="a"))
    await agent.send(command("pause", {"reason": "午饭"}, id="b"))
    await agent.send(command("transfer", {"target": "1002"}, id="c"))
    await agent.send(command("save_order", {"order": {"title": "<script>x</script>"}}, id="d"))
    await agent.send(command("wrapup_done", id="e"))
    received = await asyncio.wait_for(submitted(bus, 5), 3)
    assert [(c["id"], c["name"], c["args"]) for c in received] == [
        ("a", "login", {"queues": ["general"]}),
        ("b", "pause", {"reason": "午饭"}),
        ("c", "transfer", {"target": "1002", "mode": "blind"}),
        ("d", "save_order", {"order": {"title": "<script>x</script>"}}),
        ("e", "wrapup_done", {}),
    ]
    first = received[0]
    assert (first["user_id"], first["user_name"], first["role"], first["extension"]) == (
        7, "王芳", "agent", "1001"
    )
    assert first["reply_topic"] == "agent.1001" and isinstance(first["gateway_ts"], float)
    assert first["version"] == 1  # the ticket's generation (issued as 1), for the executor


async def test_supervisor_may_not_command_an_agents_call(gateway: GatewayServer, bus: Bus) -> None:
    supervisor = ticket("supervisor", None, user_id=2, name="赵主管")
    async with connect(ws_url(gateway.port, supervisor)) as ws:
        await recv_until(ws, "hello")
        await recv_until(ws, "snapshot")
        await ws.send(command("hangup", id="h1"))
        reply = await recv_until(ws, "command_result")
        assert reply["id"] == "h1" and reply["ok"] is False
        assert reply["error"]["code"] == "forbidden"
        await ping_until_pong(ws)
    assert await bus.redis.xlen(bus.commands_stream) == 0


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{oops", "malformed_json"),
        ("[1, 2]", "invalid_message"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "resume", "last_seq": "yesterday"}', "invalid_message"),
        ('{"type": "command", "name": "pause", "args": {"reason": "x"}}', "invalid_message"),
    ],
)
async def test_bad_message_gets_an_error_and_the_connection_stays(
    agent: ClientConnection, bus: Bus, frame: str, code: str
) -> None:
    await agent.send(frame)
    reply = await recv_until(agent, "error")
    assert reply["code"] == code and reply["message"]
    seq = await bus.publish("agent.1001", {"type": "call_update", "call_id": "L1"})
    assert (await recv_json(agent))["seq"] == seq
    await ping_until_pong(agent)
    assert await bus.redis.xlen(bus.commands_stream) == 0


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (command("nuke"), "unknown_command"),
        (command("transfer", {"target": "110; drop"}), "invalid_args"),
        (command("pause", {"reason": "r" * 33}), "invalid_args"),
        (command("hangup", {"channel": "SIP/1002"}), "invalid_args"),
        (command("save_order", {"order": {"text": "长" * 10_000}}), "invalid_args"),
    ],
)
async def test_bad_command_gets_a_failed_result_naming_it(
    agent: ClientConnection, bus: Bus, frame: str, code: str
) -> None:
    await agent.send(frame)
    reply = await recv_until(agent, "command_result")
    assert reply["id"] == "c1" and reply["ok"] is False and reply["error"]["code"] == code
    await ping_until_pong(agent)
    assert await bus.redis.xlen(bus.commands_stream) == 0


async def test_oversized_frame_closes_1009_and_the_desktop_resumes(
    gateway: GatewayServer, agent: ClientConnection, bus: Bus
) -> None:
    before = await bus.publish("agent.1001", {"type": "call_update", "call_id": "L1"})
    assert (await recv_json(agent))["seq"] == before
    await agent.send(command("save_order", {"order": {"text": "x" * 70_000}}))
    with pytest.raises(ConnectionClosed):
        await recv_json(agent)
    assert agent.close_code == 1009
    missed = await bus.publish("agent.1001", {"type": "call_update", "call_id": "L2"})
    async with connect(ws_url(gateway.port, ticket(), last_seq=before)) as ws:
        await recv_until(ws, "hello")
        assert (await recv_json(ws))["seq"] == missed
    assert await bus.redis.xlen(bus.commands_stream) == 0


async def test_flood_is_rate_limited_and_nothing_refused_is_executed(
    agent: ClientConnection, bus: Bus
) -> None:
    for i in range(30):
        await agent.send(command("pause", {"reason": "flood"}, id=f"f{i}"))
    replies = await ping_until_pong(agent)
    assert all(r["ok"] is False and r["error"]["code"] == "rate_limited" for r in replies)
    refused = {r["id"] for r in replies}
    # A burst of 20 passes (and what refilled at 20/s meanwhile); the rest is refused.
    assert 5 <= len(refused) <= 10
    accepted = {c["id"] for c in await asyncio.wait_for(submitted(bus, 30 - len(refused)), 3)}
    assert accepted | refused == {f"f{i}" for i in range(30)} and not accepted & refused
    assert await bus.redis.xlen(bus.commands_stream) == len(accepted)


async def test_persistent_flood_is_disconnected_4029(agent: ClientConnection) -> None:
    for _ in range(200):
        await agent.send('{"type": "ping"}')
    with pytest.raises(ConnectionClosed):
        while True:
            await recv_json(agent)
    assert agent.close_code == 4029
