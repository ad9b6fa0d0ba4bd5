"""`create_app`: the CRM's aiohttp application, mountable by the wiring root."""

from collections.abc import Iterable, Sequence

from aiohttp import web

from crm.api import admin, calls, openapi, orders
from crm.api.caches import CACHE_TTL_S, Authenticator
from crm.api.context import (
    AUTH,
    CALENDAR,
    CLOCK,
    ENGINE,
    SEGMENTER,
    SESSIONS,
    SETTINGS,
    USERS_CHANGED,
    Clock,
    LazySegmenter,
    Settings,
    UsersChanged,
    nobody_listens,
)
from crm.api.endpoint import bind
from crm.api.errors import error_middleware
from crm.api.headers import security_headers
from crm.db.engine import SessionFactory, bound_engine
from crm.domain.clock import utc_now
from crm.domain.numbering import valid_centre_code
from crm.repo.calendar import CalendarCache
from crm.segmenter import Segmenter

ENDPOINTS = orders.ENDPOINTS + admin.ENDPOINTS + calls.ENDPOINTS
API_VERSION = "1.0.0"


def create_app(
    sessions: SessionFactory,
    *,
    centre_code: str,
    max_body_bytes: int = Settings.max_body_bytes,
    clock: Clock = utc_now,
    segmenter: Segmenter | None = None,
    cache_ttl_s: float = CACHE_TTL_S,
    users_changed: UsersChanged = nobody_listens,
    documented: Iterable[openapi.Operation] = (),
    connect_src: Sequence[str] = (),
) -> web.Application:
    """Build the REST API on a session factory; the caller owns (and disposes) the engine.

    The schema must already be migrated (crm.db.migrate.migrate). `clock` and `segmenter`
    exist so tests can fix the time and share one jieba dictionary. `cache_ttl_s` bounds how
    long a token change made outside this app goes unseen (0 turns caching off); calendar
    edits are seen at once wherever they were made (crm.repo.calendar.CalendarCache).
    `users_changed` is awaited after every committed change to users. `connect_src` are the
    addresses besides this server that pages served by the app may connect to (the agent
    gateway's websocket URL), for the Content-Security-Policy of every response.
    `documented` describes the routes the caller mounts beside the CRM's, for the OpenAPI
    document.
    """
    if not valid_centre_code(centre_code):
        raise ValueError(f"invalid centre code {centre_code!r}")
    settings = Settings(centre_code=centre_code, max_body_bytes=max_body_bytes)
    app = web.Application(middlewares=[error_middleware], client_max_size=max_body_bytes)
    app[SESSIONS] = sessions
    app[ENGINE] = bound_engine(sessions)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[SEGMENTER] = LazySegmenter(segmenter)
    app[AUTH] = Authenticator(sessions, cache_ttl_s)
    app[CALENDAR] = CalendarCache()
    app[USERS_CHANGED] = users_changed
    app.on_response_prepare.append(security_headers(connect_src))
    document = openapi.build(ENDPOINTS, "hotline CRM", API_VERSION, documented)

    async def serve_openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/openapi.json", serve_openapi)
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, bind(endpoint))
    return app
