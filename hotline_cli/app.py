"""The wiring root: builds every adapter from the settings, each as one async context.

Start-up order is the order callers need things: Redis, the FastAGI server (so the IVR is
there before the first call), Asterisk, then the AMI link and its consumer, then HTTP.
Shutdown runs the same stack backwards.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from config.settings import Settings
from hotline_cli.processes import AsteriskProcess, RedisProcess
from hotline_cli.sounds import build_sounds, prompt_dir
from hotline_cli.status_api import create_status_app
from ivr.server import FastAgiServer
from ivr.welcome import WelcomeFlow
from telephony.actions import add_queue_member
from telephony.ami import AmiClient
from telephony.asterisk_config import Layout, layout_for, write_config
from telephony.service import Listener, TelephonyService
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)


@dataclass
class Hotline:
    settings: Settings
    layout: Layout
    asterisk: AsteriskProcess
    redis: RedisProcess | None
    redis_url: str
    ami: AmiClient
    service: TelephonyService
    agi: FastAgiServer

    @property
    def tracker(self) -> CallTracker:
        return self.service.tracker

    async def staff_queues(self) -> int:
        """Log every configured agent into the queues its skills serve; return how many joined."""
        joined = 0
        for queue in self.settings.queues:
            for agent, penalty in self.settings.queue_members(queue):
                joined += await add_queue_member(
                    self.ami, queue.name, agent.extension, agent.name, penalty
                )
        return joined


@asynccontextmanager
async def running_hotline(
    settings: Settings, listeners: Sequence[Listener] = (), *, http: bool = True
) -> AsyncIterator[Hotline]:
    """Everything up and connected on entry; everything stopped on exit."""
    layout = layout_for(settings)
    write_config(settings, layout)
    build_sounds(layout)
    async with AsyncExitStack() as stack:
        redis = None
        redis_url = settings.redis.url
        if not redis_url:
            redis = RedisProcess(settings.redis.port, settings.state_dir / "redis")
            await stack.enter_async_context(redis)
            redis_url = redis.url
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
        service = TelephonyService(ami, CallTracker(), listeners)
        await stack.enter_async_context(service)
        await ami.wait_connected(10)
        await service.wait_synced(10)
        if http:
            runner = web.AppRunner(create_status_app(service))
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, settings.http.host, settings.http.port).start()
        yield Hotline(settings, layout, asterisk, redis, redis_url, ami, service, agi)
