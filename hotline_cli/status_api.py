"""The running hotline's health, for operators and load balancers (no personal data)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from hotline_cli.tasks import Tasks
from telephony.service import TelephonyService

SERVICE_KEY = web.AppKey("telephony", TelephonyService)
TASKS_KEY = web.AppKey("tasks", Tasks)


class TaskHealthOut(BaseModel):
    failures: int
    restarts: int


class HealthOut(BaseModel):
    """The answer of /health (200 while the AMI link is up, else 503); its OpenAPI schema."""

    ami_connected: bool
    events: int
    malformed_events: int
    resyncs: int
    live_calls: int
    last_disconnect: str
    tasks: dict[str, TaskHealthOut]


async def health(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    stats = service.stats
    report = request.app[TASKS_KEY].report()
    body = HealthOut(
        ami_connected=stats.connected,
        events=stats.events,
        malformed_events=stats.malformed,
        resyncs=stats.resyncs,
        live_calls=len(service.tracker.calls),
        last_disconnect=stats.last_disconnect,
        tasks={name: TaskHealthOut(**counts) for name, counts in report.items()},
    )
    return web.json_response(text=body.model_dump_json(), status=200 if stats.connected else 503)


def add_status_routes(app: web.Application, service: TelephonyService, tasks: Tasks) -> None:
    app[SERVICE_KEY] = service
    app[TASKS_KEY] = tasks
    app.router.add_get("/health", health)

