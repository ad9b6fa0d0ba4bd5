"""The running hotline's health, for operators and load balancers (no personal data)."""

from __future__ import annotations

from aiohttp import web

from hotline_cli.tasks import Tasks
from telephony.service import TelephonyService

SERVICE_KEY = web.AppKey("telephony", TelephonyService)
TASKS_KEY = web.AppKey("tasks", Tasks)


async def health(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    stats = service.stats
    body = {
        "ami_connected": stats.connected,
        "events": stats.events,
        "malformed_events": stats.malformed,
        "resyncs": stats.resyncs,
        "live_calls": len(service.tracker.calls),
        "last_disconnect": stats.last_disconnect,
        "tasks": request.app[TASKS_KEY].report(),
    }
    return web.json_response(body, status=200 if stats.connected else 503)


def add_status_routes(app: web.Application, service: TelephonyService, tasks: Tasks) -> None:
    app[SERVICE_KEY] = service
    app[TASKS_KEY] = tasks
    app.router.add_get("/health", health)

