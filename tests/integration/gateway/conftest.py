"""Gateway fixtures: one private redis-server per session, emptied before every test (but for
the list of the test users allowed a desk)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from agent_gateway.edge.admission import publish_desk_users
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.server import GatewayServer
from hotline_cli.demo.ports import free_tcp_port
from processes.redis_server import RedisProcess
from tests.integration.gateway.gateway_support import DESK_USERS, running_gateway


@pytest.fixture(scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    server = RedisProcess(free_tcp_port(), tmp_path_factory.mktemp("gateway-redis"))
    async with server:
        yield server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushall()
    await publish_desk_users(client, DESK_USERS)
    yield client
    await client.aclose()


@pytest.fixture
def bus(redis: Redis) -> Bus:
    return Bus(redis)


@pytest.fixture
async def gateway(bus: Bus) -> AsyncIterator[GatewayServer]:
    async with running_gateway(bus) as gateway:
        yield gateway
