"""The running hotline's health, for operators and load balancers (no personal data).

The call process owns the figures (AMI link, live calls, its tasks) and the HTTP process
serves them: the call process reports them to Redis twice a second with a short expiry, and
/health answers the latest report. A call process that stalls or dies stops reporting, so
its health turns 503 within `REPORT_TTL_MS` instead of showing its last good figures.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hotline_cli.tasks import Tasks
from telephony.service import TelephonyService

log = logging.getLogger(__name__)

HEALTH_KEY = "hotline:health"
REPORT_EVERY_S = 0.5
REPORT_TTL_MS = 2000
REDIS_KEY = web.AppKey("health_redis", Redis)


class TaskHealthOut(BaseModel):
    failures: int
    restarts: int


class HealthOut(BaseModel):
    """The answer of /health (200 while the call process reports an AMI link that is up,
    else 503); its OpenAPI schema."""

    reporting: bool  # false: no report from the call process for REPORT_TTL_MS
    ami_connected: bool
    events: int
    malformed_events: int
    resyncs: int
    live_calls: int
    last_disconnect: str
    tasks: dict[str, TaskHealthOut]
    # raised now, by name: what an operator must act on while calls still flow (a recordings
    # disk running full, recordings altered on disk); they do not turn /health 503
    alarms: dict[str, str] = {}


SILENT = HealthOut(
    reporting=False, ami_connected=False, events=0, malformed_events=0, resyncs=0,
    live_calls=0, last_disconnect="", tasks={},
)  # fmt: skip


def current_health(service: TelephonyService, tasks: Tasks) -> HealthOut:
    stats = service.stats
    return HealthOut(
        reporting=True,
        ami_connected=stats.connected,
        events=stats.events,
        malformed_events=stats.malformed,
        resyncs=stats.resyncs,
        live_calls=len(service.tracker.calls),
        last_disconnect=stats.last_disconnect,
        tasks={name: TaskHealthOut(**counts) for name, counts in tasks.report().items()},
        alarms=tasks.alarms(),
    )


async def report_health(redis: Redis, service: TelephonyService, tasks: Tasks) -> None:
    """One report of the call process's health, good for REPORT_TTL_MS."""
    body = current_health(service, tasks).model_dump_json()
    await redis.set(HEALTH_KEY, body, px=REPORT_TTL_MS)


async def report_health_forever(redis: Redis, service: TelephonyService, tasks: Tasks) -> None:
    while True:
        await report_health(redis, service, tasks)
        await asyncio.sleep(REPORT_EVERY_S)


async def health(request: web.Request) -> web.Response:
    try:
        raw = await request.app[REDIS_KEY].get(HEALTH_KEY)
        body = SILENT if raw is None else HealthOut.model_validate_json(raw)
    except (RedisError, OSError, ValidationError) as exc:
        log.warning("no health report to serve: %s", type(exc).__name__)
        body = SILENT
    status = 200 if body.reporting and body.ami_connected else 503
    return web.json_response(text=body.model_dump_json(), status=status)


def add_status_routes(app: web.Application, redis: Redis) -> None:
    app[REDIS_KEY] = redis
    app.router.add_get("/health", health)
