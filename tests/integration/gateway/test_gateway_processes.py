"""Two gateway processes on one Redis: a desktop gets its messages whichever it is connected to."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

from websockets.asyncio.client import connect

from agent_gateway.bus import Bus
from agent_gateway.server import GatewayServer
from tests.integration.gateway.gateway_support import (
    ORIGIN,
    SECRET,
    recv_json,
    recv_until,
    ticket,
    ws_url,
)


@asynccontextmanager
async def gateway_process(redis_url: str) -> AsyncIterator[int]:
    """`python -m agent_gateway` on a free port; yields the port, stops it with SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent_gateway",
        "--redis-url", redis_url, "--port", "0",
        "--secret-env", "TEST_GATEWAY_SECRET", "--origin", ORIGIN,
        env={**os.environ, "TEST_GATEWAY_SECRET": SECRET.decode()},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    log: list[str] = []
    try:
        while not (listening := re.search(r"listening on ws://[\d.]+:(\d+)", "".join(log))):
            line = await asyncio.wait_for(process.stderr.readline(), 10)
            assert line, f"the gateway process exited: {''.join(log)}"
            log.append(line.decode())
        # Keep draining its log so the pipe never fills.
        drain = asyncio.create_task(process.stderr.read())
        yield int(listening.group(1))
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0, (await drain).decode()
        await drain
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


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
            _, command = await anext(commands)
        assert command["id"] == "x1" and command["extension"] == "1001"
