"""The backend's HTTP application on a real loopback port, for clients that block (schemathesis).

The same routes as `hotline up` mounts (the CRM's, the desktops' ticket, /health) on an empty
database (a fresh SQLite file unless a URL is given), migrated, with one user of each role (the
handler in a department), served from a thread of its own so synchronous clients can call it.
/health answers that no call process reports (503).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis

from agent_gateway.desk.http import DeskHttp
from crm.api import create_app
from crm.api.caches import Authenticator
from crm.api.context import AUTH
from crm.api.throttle import FailureThrottle, TokenGate
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.migrate import migrate
from crm.domain.enums import Role, UnitKind
from crm.repo.directory import create_unit, create_user
from hotline_cli.demo.ports import free_tcp_port
from hotline_cli.http_doc import DOCUMENTED
from hotline_cli.status_api import add_status_routes
from processes.redis_server import RedisProcess

ROLES = ("admin", "supervisor", "agent", "handler")
EXTENSIONS = ("1001", "1002")


@dataclass(frozen=True)
class LiveApi:
    base_url: str
    tokens: dict[str, str]  # role -> bearer token


async def _seed(sessions: SessionFactory) -> dict[str, str]:
    tokens: dict[str, str] = {}
    async with sessions() as session, session.begin():
        centre = await create_unit(session, "CENTRE", "12345 热线中心", UnitKind.CENTRE)
        urban = await create_unit(session, "URBAN", "城市管理局", UnitKind.DEPARTMENT)
        for role in ROLES:
            unit = urban if role == "handler" else centre
            agent = EXTENSIONS[0] if role == "agent" else None
            _, tokens[role] = await create_user(
                session, f"fuzz-{role}", Role(role), unit.id, agent_extension=agent
            )
    return tokens


@contextmanager
def live_api(
    directory: Path, max_body_bytes: int = 64 * 1024, database_url: str | None = None
) -> Iterator[LiveApi]:
    """Serve the application until the block ends, on `database_url` (an empty database) or a
    new SQLite file in `directory`."""
    url = database_url or f"sqlite:///{directory / 'crm.db'}"
    loop = asyncio.new_event_loop()
    port = free_tcp_port()
    started: dict[str, str] = {}
    ready, stop = threading.Event(), asyncio.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        redis_server = RedisProcess(free_tcp_port(), directory / "redis")
        await redis_server.start()
        redis = Redis.from_url(redis_server.url)
        engine = create_engine(url)
        await migrate(engine)
        sessions = session_factory(engine)
        started.update(await _seed(sessions))
        app = create_app(sessions, centre_code="SZ12345", max_body_bytes=max_body_bytes,
                         documented=DOCUMENTED)  # fmt: skip
        # Schemathesis sends a bad token beside many good ones from this one address: a
        # throttle that locks it out would turn every later answer into a 429 and fuzz
        # nothing (the throttle has its own tests).
        unlimited = FailureThrottle(burst=1_000_000)
        app[AUTH] = Authenticator(sessions, throttle=unlimited)
        add_status_routes(app, redis)  # no call process reports here
        DeskHttp(sessions, redis, b"s" * 32, EXTENSIONS, "ws://127.0.0.1:1/", 60,
                 TokenGate(unlimited)).add_routes(app)  # fmt: skip
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await engine.dispose()
            await redis.aclose()
            await redis_server.stop()

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="live-api", daemon=True)
    thread.start()
    if not ready.wait(30) or failure:
        raise RuntimeError(f"the API did not start: {failure}")
    try:
        yield LiveApi(f"http://127.0.0.1:{port}", dict(started))
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
