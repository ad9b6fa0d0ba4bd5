"""Desk fixtures: a private redis-server per test (some tests crash or stall it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from agent_gateway.edge.bus import Bus
from hotline_cli.demo.ports import free_tcp_port
from processes.redis_server import RedisProcess


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisProcess]:
    server = RedisProcess(free_tcp_port(), tmp_path / "redis")
    async with server:
        yield server


@pytest.fixture
async def redis(redis_server: RedisProcess) -> AsyncIterator[Redis]:
    # Short timeouts: a test that stops Redis must see the writer retry, not hang.
    client = Redis.from_url(redis_server.url, socket_timeout=3, socket_connect_timeout=1)
    yield client
    await client.aclose()


@pytest.fixture
def bus(redis: Redis) -> Bus:
    return Bus(redis)
