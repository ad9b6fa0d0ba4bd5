"""Two gateway processes on one Redis: a desktop gets its messages whichever it is connected to."""

from __future__ import annotations

from contextlib import aclosing

from websockets.asyncio.client import connect

from agent_gateway.edge.bus import Bus
from agent_gateway.edge.server import GatewayServer
from tests.integration.gateway.gateway_support import (
    gateway_process,
    recv_json,
    recv_until,
    ticket,
    ws_url,
)


async def test_an_agent_on_either_gateway_gets_its_messages(
    gateway: GatewayServer, bus: Bus, redis_url: str
) -> None:
    async with (
        gateway_process(redis_url) as other_port,
        connect(ws_url(gateway.port, ticket(extension="1001"))) as here,
        connect(ws_url(other_port, ticket(extension="1001"))) as there,
        connect(ws_url(other_port, ticket(extension="1002", user_id=8))) as other_agent,
    ):
        for ws in (here, there, other_agent):
            await recv_until(ws, "hello")
            await recv_until(ws, "snapshot")
        pop = await bus.publish("agent.1001", {"type": "screen_pop", "call_id": "L1"})
        for ws in (here, there):
            assert await recv_json(ws) == {"type": "screen_pop", "call_id": "L1", "seq": pop}
        mine = await bus.publish("agent.1002", {"type": "screen_pop", "call_id": "L2"})
        assert (await recv_json(other_agent))["seq"] == mine

        # A command sent through the other process reaches the same commands stream.
        await there.send('{"type": "command", "id": "x1", "name": "unpause"}')
        async with aclosing(bus.commands()) as commands:
            command = (await anext(commands)).command
        assert command["id"] == "x1" and command["extension"] == "1001"
