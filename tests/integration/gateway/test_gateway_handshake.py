"""The handshake refuses what it must, with the HTTP status a browser or a script can act on."""

from __future__ import annotations

import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from agent_gateway.edge.server import GatewayServer
from agent_gateway.edge.tickets import issue_ticket
from tests.integration.gateway.gateway_support import ORIGIN, SECRET, recv_until, ticket, ws_url

NOW = time.time()


async def refused_status(url: str, origin: Origin | None = None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin=origin):
            pass
    return refused.value.response.status_code


@pytest.mark.parametrize(
    "bad_ticket",
    [
        "",
        "not-a-ticket",
        ticket(secret=b"another secret"),
        issue_ticket(SECRET, 7, "王芳", "agent", "1001", 60, NOW - 120, version=1),
        ticket()[:-3] + "AAA",
    ],
    ids=["empty", "garbage", "wrong-secret", "expired", "tampered"],
)
async def test_bad_ticket_is_401(gateway: GatewayServer, bad_ticket: str) -> None:
    assert await refused_status(ws_url(gateway.port, bad_ticket)) == 401


async def test_missing_ticket_is_401(gateway: GatewayServer) -> None:
    assert await refused_status(f"ws://127.0.0.1:{gateway.port}/") == 401


async def test_foreign_origin_is_403(gateway: GatewayServer) -> None:
    url = ws_url(gateway.port, ticket())
    assert await refused_status(url, origin=Origin("http://evil.example")) == 403


async def test_allowed_origin_and_no_origin_are_accepted(gateway: GatewayServer) -> None:
    for origin in (Origin(ORIGIN), None):
        async with connect(ws_url(gateway.port, ticket()), origin=origin) as ws:
            await recv_until(ws, "hello")


async def test_bad_last_seq_is_400(gateway: GatewayServer) -> None:
    url = ws_url(gateway.port, ticket()) + "&last_seq=-1"
    assert await refused_status(url) == 400


async def test_a_user_the_backend_does_not_list_is_401(gateway: GatewayServer) -> None:
    """A signed, fresh ticket is not enough: the user must still be allowed a desk (listed
    with the ticket's generation: not disabled, token not rotated since)."""
    for stale in (ticket(user_id=99), ticket(version=2)):
        assert await refused_status(ws_url(gateway.port, stale)) == 401


async def test_a_ticket_is_good_for_one_handshake(gateway: GatewayServer) -> None:
    url = ws_url(gateway.port, ticket())
    async with connect(url) as ws:
        await recv_until(ws, "hello")
    assert await refused_status(url) == 401
