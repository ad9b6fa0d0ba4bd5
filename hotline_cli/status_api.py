"""A small read-only HTTP API on the running hotline: health and live calls."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from telephony.service import TelephonyService
from telephony.tracker import Call

SERVICE_KEY = web.AppKey("telephony", TelephonyService)


def call_json(call: Call) -> dict[str, Any]:
    data = dataclasses.asdict(call)
    data["state"] = call.state.value
    data["wait_time_s"] = call.wait_time_s
    data["talk_time_s"] = call.talk_time_s
    return data


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
    }
    return web.json_response(body, status=200 if stats.connected else 503)


async def live_calls(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    return web.json_response([call_json(c) for c in service.tracker.calls.values()])


def create_status_app(service: TelephonyService) -> web.Application:
    app = web.Application()
    app[SERVICE_KEY] = service
    app.router.add_get("/health", health)
    app.router.add_get("/api/calls", live_calls)
    return app
