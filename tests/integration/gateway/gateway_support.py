"""Helpers for the gateway tests: tickets, URLs, and reading frames with a deadline."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection

from agent_gateway.edge.bus import Bus
from agent_gateway.edge.protocol import Role
from agent_gateway.edge.server import GatewayServer
from agent_gateway.edge.tickets import issue_ticket

SECRET = b"gateway-test-secret"
ORIGIN = "http://127.0.0.1:8080"
# The users the tests' tickets are for, as the backend would publish them (user id → generation).
DESK_USERS = {7: 1, 8: 1, 2: 1}


def ticket(
    role: Role = "agent",
    extension: str | None = "1001",
    *,
    user_id: int = 7,
    name: str = "王芳",
    ttl_s: float = 60,
    secret: bytes = SECRET,
    version: int = 1,
) -> str:
    return issue_ticket(secret, user_id, name, role, extension, ttl_s, time.time(), version=version)


def ws_url(port: int, ticket: str, last_seq: int | None = None) -> str:
    url = f"ws://127.0.0.1:{port}/?ticket={ticket}"
    return url if last_seq is None else f"{url}&last_seq={last_seq}"


async def recv_json(ws: ClientConnection, timeout: float = 3.0) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert isinstance(message, dict)
    return message


async def recv_until(ws: ClientConnection, kind: str, timeout: float = 3.0) -> dict[str, Any]:
    """The next message of type `kind`, failing on anything else in between."""
    message = await recv_json(ws, timeout)
    assert message["type"] == kind, message
    return message


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running_gateway(bus: Bus, **options: Any) -> AsyncIterator[GatewayServer]:
    """A gateway on a free loopback port, accepting the test ORIGIN and SECRET."""
    async with GatewayServer(
        bus,
        bus.redis,
        host="127.0.0.1",
        port=0,
        secret=SECRET,
        allowed_origins=[ORIGIN],
        **options,
    ) as gateway:
        yield gateway


@asynccontextmanager
async def gateway_process(
    redis_url: str, secret: bytes = SECRET, origin: str = ORIGIN
) -> AsyncIterator[int]:
    """`python -m agent_gateway.edge` on a free port; yields the port, stops it with SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent_gateway.edge",
        "--redis-url",
        redis_url,
        "--port",
        "0",
        "--secret-env",
        "TEST_GATEWAY_SECRET",
        "--origin",
        origin,
        env={**os.environ, "TEST_GATEWAY_SECRET": secret.decode()},
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
