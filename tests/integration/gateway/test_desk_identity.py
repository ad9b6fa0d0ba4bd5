"""Who may open a desk: the ticket endpoint, one-handshake tickets, and live sessions re-checked.

The real pieces of the backend's desk side: the CRM's API and the ticket endpoint on one
aiohttp app over a migrated SQLite database, the users published to Redis, the in-process
gateway and a `python -m agent_gateway.edge` process on that Redis, real websocket clients.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import TCPConnector
from aiohttp.test_utils import TestClient, TestServer
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from agent_gateway.desk.http import DeskHttp
from agent_gateway.desk.users import DeskUsers
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.server import GatewayServer
from crm.api import create_app
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.migrate import migrate
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.repo.directory import get_user, hash_token
from crm.usecases.exchange_peers import peer_actor
from crm.usecases.users import add_user, change_user
from tests.integration.gateway.gateway_support import (
    SECRET,
    gateway_process,
    recv_until,
    running_gateway,
    wait_until,
)

RECHECK_S = 0.2
CUT_OFF_S = 10.0  # generous: the gateway re-checks every RECHECK_S
USERS = (
    ("admin", "管理员", Role.ADMIN, None),
    ("wang", "王芳", Role.AGENT, "1001"),
    ("li", "李娜", Role.AGENT, "1002"),
    ("sun", "孙丽", Role.AGENT, None),  # not bound to an agent yet
    ("zhou", "周涛", Role.AGENT, "1009"),  # bound to an extension that is not configured
    ("chen", "陈班长", Role.SUPERVISOR, None),
    ("zhang", "张班长", Role.SUPERVISOR, "8001"),  # works at a supervisor's phone
    ("he", "何班长", Role.SUPERVISOR, "8009"),  # a phone no longer configured
)


@dataclass
class Desk:
    client: TestClient[Any, Any]
    gateway: GatewayServer
    sessions: SessionFactory
    users: DeskUsers
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    async def call(
        self, method: str, path: str, token: str, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.client.request(method, path, json=body, headers=headers) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()

    async def ticket(self, who: str, extension: str | None = None) -> tuple[int, Any]:
        body = {} if extension is None else {"extension": extension}
        return await self.call("POST", "/api/desk/ticket", self.tokens[who], body)

    async def ticket_url(self, who: str) -> str:
        status, out = await self.ticket(who)
        assert status == 200, out
        return f"{out['ws_url']}?ticket={out['ticket']}"

    async def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return await self.call(method, path, self.tokens["admin"], body)


@asynccontextmanager
async def running_desk(bus: Bus, tmp_path: Path, ticket_ttl_s: int = 60) -> AsyncIterator[Desk]:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    await migrate(engine)
    sessions = session_factory(engine)
    tokens, ids = {}, {}
    async with sessions() as session, session.begin():
        for key, name, role, extension in USERS:
            user, tokens[key] = await add_user(session, None, utc_now(), name, role, None,
                                               extension)  # fmt: skip
            ids[key] = user.id
    users = DeskUsers(sessions, bus.redis)
    await users.publish()
    try:
        async with running_gateway(bus, recheck_s=RECHECK_S) as gateway:
            ws_url = f"ws://127.0.0.1:{gateway.port}/"
            app = create_app(sessions, centre_code="SZ12345", users_changed=users.changed,
                             connect_src=[ws_url])  # fmt: skip
            DeskHttp(sessions, bus.redis, SECRET, {"1001", "1002"}, ws_url,
                     ticket_ttl_s, phones=["8001"]).add_routes(app)  # fmt: skip
            async with TestClient(TestServer(app)) as client:
                yield Desk(client, gateway, sessions, users, tokens, ids)
    finally:
        await engine.dispose()


@pytest.fixture
async def desk(bus: Bus, tmp_path: Path) -> AsyncIterator[Desk]:
    async with running_desk(bus, tmp_path) as desk:
        yield desk


async def handshake_status(url: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    return refused.value.response.status_code


async def connected(stack: AsyncExitStack, url: str) -> ClientConnection:
    ws = await stack.enter_async_context(connect(url))
    await recv_until(ws, "hello")
    await recv_until(ws, "snapshot")
    return ws


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    await asyncio.wait_for(ws.wait_closed(), CUT_OFF_S)
    return ws.close_code, ws.close_reason


async def test_an_agent_gets_a_ticket_for_its_own_extension_only(desk: Desk) -> None:
    for asked in (None, "1001"):
        status, out = await desk.ticket("wang", asked)
        assert status == 200, out
        assert out["user"] == {"id": desk.ids["wang"], "name": "王芳", "role": "agent",
                               "extension": "1001"}  # fmt: skip
    status, err = await desk.ticket("wang", "1002")  # 李娜's desk: her pops, her calls
    assert (status, err["error"]["code"], err["error"]["field"]) == (
        403, "not_your_extension", "extension",
    )  # fmt: skip
    status, err = await desk.ticket("sun", "1001")
    assert (status, err["error"]["code"]) == (409, "no_agent_binding")
    status, err = await desk.ticket("zhou")
    assert (status, err["error"]["code"]) == (409, "unknown_extension")
    status, out = await desk.ticket("chen")
    assert status == 200 and out["user"]["extension"] is None
    status, out = await desk.ticket("zhang")  # the supervisor's phone that spying rings
    assert status == 200 and out["user"]["extension"] == "8001"
    status, err = await desk.ticket("he")
    assert (status, err["error"]["code"]) == (409, "unknown_phone")

    async with connect(await desk.ticket_url("wang")) as ws:
        hello = await recv_until(ws, "hello")
    assert hello["user"]["extension"] == "1001"


async def test_a_ticket_admits_one_handshake_on_any_gateway(desk: Desk, redis_url: str) -> None:
    url = await desk.ticket_url("wang")
    async with connect(url) as ws:
        await recv_until(ws, "hello")
    assert await handshake_status(url) == 401

    async with gateway_process(redis_url) as other_port:
        status, out = await desk.ticket("li")
        assert status == 200
        here = f"ws://127.0.0.1:{desk.gateway.port}/?ticket={out['ticket']}"
        there = f"ws://127.0.0.1:{other_port}/?ticket={out['ticket']}"
        async with connect(there) as ws:
            await recv_until(ws, "hello")
        assert await handshake_status(here) == 401
        assert await handshake_status(there) == 401


async def test_bad_tokens_are_throttled_per_address(desk: Desk) -> None:
    statuses = []
    for i in range(30):
        status, body = await desk.call("POST", "/api/desk/ticket", f"guess-{i}", {})
        statuses.append(status)
        if status == 429:
            assert body["error"]["code"] == "too_many_attempts"
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    # the flood's address is told when to come back; others are served as before
    headers = {"Authorization": "Bearer nope"}
    async with desk.client.post("/api/desk/ticket", json={}, headers=headers) as response:
        assert response.status == 429 and 1 <= int(response.headers["Retry-After"]) <= 60
    connector = TCPConnector(local_addr=("127.0.0.2", 0))
    other: TestClient[Any, Any] = TestClient(desk.client.server, connector=connector)
    good = {"Authorization": f"Bearer {desk.tokens['wang']}"}
    async with other, other.post("/api/desk/ticket", json={}, headers=good) as response:
        assert response.status == 200


async def test_an_agent_who_got_a_ticket_before_is_served_from_a_throttled_address(
    desk: Desk,
) -> None:
    """An agent behind the same NAT as a token guesser keeps getting tickets; a token never
    seen valid from there waits, even a good one (the throttle cannot tell it apart)."""
    assert (await desk.call("POST", "/api/desk/ticket", desk.tokens["wang"], {}))[0] == 200
    for i in range(30):
        await desk.call("POST", "/api/desk/ticket", f"guess-{i}", {})
    assert (await desk.call("POST", "/api/desk/ticket", "guess-x", {}))[0] == 429
    status, out = await desk.call("POST", "/api/desk/ticket", desk.tokens["wang"], {})
    assert status == 200 and out["user"]["name"] == "王芳"
    assert (await desk.call("POST", "/api/desk/ticket", desk.tokens["li"], {}))[0] == 429


async def test_pages_may_connect_to_this_gateway_only(desk: Desk) -> None:
    ws_url = f"ws://127.0.0.1:{desk.gateway.port}/"
    for path in ("/agent", "/supervisor", "/admin", "/static/agent.js", "/static/desk.css"):
        async with desk.client.get(path) as response:
            assert response.status == 200, path
            policy = dict(
                part.strip().split(" ", 1)
                for part in response.headers["Content-Security-Policy"].split(";")
            )
            assert policy["connect-src"] == f"'self' {ws_url}", path
            assert policy["frame-ancestors"] == "'none'"
            assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_an_expired_ticket_is_refused(bus: Bus, tmp_path: Path) -> None:
    async with running_desk(bus, tmp_path, ticket_ttl_s=1) as desk:
        status, out = await desk.ticket("wang")
        assert status == 200 and out["expires_at"] <= time.time() + 1
        await asyncio.sleep(out["expires_at"] - time.time() + 0.1)  # just past its expiry
        assert await handshake_status(f"{out['ws_url']}?ticket={out['ticket']}") == 401


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "", {"active": False}),
        ("DELETE", "/token", None),
        ("POST", "/token", None),
        ("PATCH", "", {"agent_extension": None}),
    ],
    ids=["disabled", "token-revoked", "token-rotated", "unbound"],
)
async def test_an_admin_change_closes_the_users_open_desktop(
    desk: Desk, method: str, path: str, body: Any
) -> None:
    async with AsyncExitStack() as stack:
        wang = await connected(stack, await desk.ticket_url("wang"))
        li = await connected(stack, await desk.ticket_url("li"))
        status, _ = await desk.admin(method, f"/api/users/{desk.ids['wang']}{path}", body)
        assert status in (200, 204)
        code, reason = await closed_with(wang)
        assert code == 4401 and reason and "log in again" in reason
        status, err = await desk.ticket("wang")
        assert status in (401, 409), err  # a dead token, or no desk any more
        await li.send('{"type": "ping"}')
        await recv_until(li, "pong")  # another agent is not touched


async def test_a_rotated_token_replaces_the_old_one_for_the_desk(desk: Desk) -> None:
    old = desk.tokens["wang"]
    status, out = await desk.admin("POST", f"/api/users/{desk.ids['wang']}/token")
    assert status == 200
    for path, body in (("/api/desk/ticket", {}), ("/api/orders", None)):
        method = "POST" if body is not None else "GET"
        status, err = await desk.call(method, path, old, body)
        assert (status, err["error"]["code"]) == (401, "unauthenticated"), path
    desk.tokens["wang"] = out["token"]
    async with AsyncExitStack() as stack:
        ws = await connected(stack, await desk.ticket_url("wang"))
        await asyncio.sleep(10 * RECHECK_S)  # several re-checks: the new login stays
        await ws.send('{"type": "ping"}')
        await recv_until(ws, "pong")


async def test_a_change_made_beside_the_api_reaches_open_desktops(desk: Desk) -> None:
    """The `hotline user` command writes the database only: the periodic publication
    carries the change to the gateways."""
    publishing = asyncio.create_task(desk.users.run(RECHECK_S))
    try:
        async with AsyncExitStack() as stack:
            ws = await connected(stack, await desk.ticket_url("wang"))
            async with desk.sessions() as session, session.begin():
                user = await get_user(session, desk.ids["wang"])
                assert user is not None
                await change_user(session, None, utc_now(), user, active=False)
            assert (await closed_with(ws))[0] == 4401
    finally:
        publishing.cancel()
        await asyncio.gather(publishing, return_exceptions=True)


async def test_one_failing_close_stops_neither_the_others_nor_the_recheck(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncExitStack() as stack:
        wang = await connected(stack, await desk.ticket_url("wang"))
        li = await connected(stack, await desk.ticket_url("li"))
        (session,) = (s for s in desk.gateway._sessions if s.claims.user_id == desk.ids["wang"])

        async def broken_revoke() -> None:
            raise RuntimeError("the close failed")

        monkeypatch.setattr(session, "revoke", broken_revoke)  # a fault in one close only
        for who in ("wang", "li"):
            status, _ = await desk.admin("PATCH", f"/api/users/{desk.ids[who]}", {"active": False})
            assert status == 200
        assert (await closed_with(li))[0] == 4401  # cut off, though wang's close failed
        await wait_until(lambda: desk.gateway.recheck_failures >= 2, CUT_OFF_S)  # turns go on
        monkeypatch.undo()  # the fault is gone: the next turn cuts wang off
        assert (await closed_with(wang))[0] == 4401


async def test_a_peer_gets_no_ticket_even_with_a_token(desk: Desk) -> None:
    """A receiving centre's user acts through signed exchange messages only: a token given to
    it (as an admin could by rotating one) opens no desk."""
    async with desk.sessions() as session, session.begin():
        actor = await peer_actor(session, "110")
        peer = await get_user(session, actor.user_id)
        assert peer is not None
        peer.token_hash, peer.active = hash_token("a-token-for-the-peer"), True
    status, err = await desk.call("POST", "/api/desk/ticket", "a-token-for-the-peer", {})
    assert (status, err["error"]["code"]) == (401, "unauthenticated")
