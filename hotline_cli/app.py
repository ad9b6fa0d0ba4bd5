"""The wiring root: builds every adapter from the settings, each as one async context.

Start-up order is the order callers need things: the database and Redis, the FastAGI server
(so the IVR is there before the first call), Asterisk, the AMI link and its consumer (with
the desktops' listeners), the command executor, the websocket gateway, then HTTP. Shutdown
runs the same stack backwards.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_gateway.bus import Bus
from agent_gateway.commands import CommandExecutor
from agent_gateway.desk_http import DeskHttp
from agent_gateway.desk_orders import DeskOrders
from agent_gateway.desk_service import DeskService
from agent_gateway.desk_users import DeskUsers
from agent_gateway.server import GatewayServer
from config.settings import Settings
from crm.api import create_app as create_crm_app
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.migrate import migrate
from hotline_cli.processes import AsteriskProcess, RedisProcess
from hotline_cli.sounds import build_sounds, prompt_dir
from hotline_cli.status_api import add_status_routes
from hotline_cli.supervision import sweep_forever
from ivr.server import FastAgiServer
from ivr.welcome import WelcomeFlow
from telephony.actions import add_queue_member
from telephony.ami import AmiClient
from telephony.asterisk_config import CONTEXT_AGENTS, Layout, layout_for, write_config
from telephony.service import Listener, TelephonyService
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 2.0


@dataclass
class Hotline:
    settings: Settings
    layout: Layout
    asterisk: AsteriskProcess
    redis: Redis
    redis_url: str
    ami: AmiClient
    service: TelephonyService
    agi: FastAgiServer
    engine: AsyncEngine
    sessions: SessionFactory
    bus: Bus
    desk: DeskService
    gateway: GatewayServer
    desk_users: DeskUsers

    @property
    def tracker(self) -> CallTracker:
        return self.service.tracker

    async def staff_queues(self) -> int:
        """Log every configured agent into the queues its skills serve; return how many joined."""
        joined = 0
        serving = self.settings.agent_queues()
        for agent in self.settings.agents:
            for queue, penalty in serving[agent.extension]:
                joined += await add_queue_member(
                    self.ami, queue, agent.extension, agent.name, penalty
                )
        return joined


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def _redis(settings: Settings) -> AsyncIterator[tuple[Redis, str]]:
    async with AsyncExitStack() as stack:
        url = settings.redis.url
        if not url:
            server = RedisProcess(settings.redis.port, settings.state_dir / "redis")
            await stack.enter_async_context(server)
            url = server.url
        client = Redis.from_url(url)
        stack.push_async_callback(client.aclose)
        yield client, url


@asynccontextmanager
async def _task(name: str, work: asyncio.Task[None]) -> AsyncIterator[None]:
    """A background task that lives as long as the block.

    redis-py can swallow the cancellation of a blocking stream read (or turn it into a
    TimeoutError), so the wait for the task is bounded; closing Redis ends it anyway.
    """
    try:
        yield
    finally:
        work.cancel()
        done, _ = await asyncio.wait({work}, timeout=STOP_TIMEOUT_S)
        if not done:
            log.warning("%s did not stop within %.0f s; leaving it", name, STOP_TIMEOUT_S)
        elif not work.cancelled() and not isinstance(
            work.exception(), TimeoutError | RedisTimeoutError | None
        ):
            log.error("%s failed: %r", name, work.exception())


@asynccontextmanager
async def running_hotline(
    settings: Settings, listeners: Sequence[Listener] = (), *, http: bool = True
) -> AsyncIterator[Hotline]:
    """Everything up and connected on entry; everything stopped on exit."""
    layout = layout_for(settings)
    write_config(settings, layout)
    build_sounds(layout)
    async with AsyncExitStack() as stack:
        engine = await stack.enter_async_context(_database(settings))
        sessions = session_factory(engine)
        redis, redis_url = await stack.enter_async_context(_redis(settings))
        bus = Bus(redis)
        ivr = WelcomeFlow(
            prompt_dir(layout),
            queues={str(label): queue for label, queue in settings.ivr.queues.items()},
            default_queue=settings.ivr.operator_queue,
            choice_timeout_ms=settings.ivr.choice_timeout_ms,
        )
        agi = await stack.enter_async_context(
            FastAgiServer(settings.agi.host, settings.agi.port, {"ivr": ivr})
        )
        asterisk = AsteriskProcess(layout)
        await stack.enter_async_context(asterisk)
        ami = await stack.enter_async_context(
            AmiClient(
                host=settings.ami.host,
                port=settings.ami.port,
                username=settings.ami.username,
                secret=settings.ami.secret.get_secret_value(),
            )
        )
        tracker = CallTracker()
        orders = DeskOrders(sessions, settings.centre.code)
        desk = DeskService(
            bus, redis, ami, tracker,
            agents={a.extension: a.name for a in settings.agents},
            queues=[q.name for q in settings.queues],
            load_history=orders.history, max_wrapup_s=settings.gateway.max_wrapup_s,
        )  # fmt: skip
        await desk.start()
        stack.push_async_callback(desk.close)
        service = TelephonyService(ami, tracker, [desk.on_call, *listeners], [desk.on_event])
        await stack.enter_async_context(service)
        await ami.wait_connected(10)
        await service.wait_synced(10)
        executor = CommandExecutor(
            bus, desk, ami, tracker, orders, settings.agent_queues(), CONTEXT_AGENTS
        )
        runner = asyncio.create_task(executor.run(), name="agent commands")
        await stack.enter_async_context(_task("agent commands", runner))
        sweeps = asyncio.create_task(
            sweep_forever(sessions, settings.database.supervision_interval_s), name="督办"
        )
        await stack.enter_async_context(_task("supervision sweeps", sweeps))
        desk_users = DeskUsers(sessions, redis)
        await desk_users.publish()
        publishing = asyncio.create_task(desk_users.run(settings.gateway.recheck_s))
        await stack.enter_async_context(_task("desk users", publishing))
        secret = settings.gateway.secret.get_secret_value().encode()
        gateway = await stack.enter_async_context(
            GatewayServer(
                bus, redis, host=settings.gateway.host, port=settings.gateway.port,
                secret=secret, allowed_origins=settings.desktop_origins, local=desk.writer,
                recheck_s=settings.gateway.recheck_s,
            )
        )  # fmt: skip
        if http:
            app = create_crm_app(
                sessions, centre_code=settings.centre.code, users_changed=desk_users.changed
            )
            add_status_routes(app, service)
            DeskHttp(
                sessions, redis, secret, {a.extension for a in settings.agents},
                f"ws://{settings.gateway.host}:{gateway.port}/", settings.gateway.ticket_ttl_s,
            ).add_routes(app)  # fmt: skip
            web_runner = web.AppRunner(app)
            await web_runner.setup()
            stack.push_async_callback(web_runner.cleanup)
            await web.TCPSite(web_runner, settings.http.host, settings.http.port).start()
        yield Hotline(
            settings, layout, asterisk, redis, redis_url, ami, service, agi, engine, sessions,
            bus, desk, gateway, desk_users,
        )  # fmt: skip
