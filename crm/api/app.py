"""`create_app`: the CRM's aiohttp application, mountable by the wiring root."""

import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from aiohttp import web

from crm.api import (
    admin,
    alerts,
    callbacks,
    calls,
    exchange,
    floor,
    handovers,
    openapi,
    orders,
    recordings,
    spy,
    telephony,
    trunks,
    unit_calls,
)
from crm.api.caches import CACHE_TTL_S, Authenticator
from crm.api.context import (
    AUTH,
    CALENDAR,
    CLOCK,
    ENGINE,
    RECORDINGS,
    SEGMENTER,
    SESSIONS,
    SETTINGS,
    USERS_CHANGED,
    Clock,
    LazySegmenter,
    RecordingFiles,
    Settings,
    UsersChanged,
    nobody_listens,
)
from crm.api.endpoint import bind
from crm.api.errors import error_middleware
from crm.api.headers import security_headers
from crm.db.engine import SessionFactory, bound_engine
from crm.domain.clock import utc_now
from crm.domain.emergency import DEFAULT_RULES, EmergencyRules
from crm.domain.numbering import valid_centre_code
from crm.domain.playback_links import derive_key
from crm.repo.calendar import CalendarCache
from crm.segmenter import Segmenter

ENDPOINTS = (
    orders.ENDPOINTS
    + admin.ENDPOINTS
    + calls.ENDPOINTS
    + recordings.ENDPOINTS
    + alerts.ENDPOINTS
    + handovers.ENDPOINTS
    + floor.ENDPOINTS
    + spy.ENDPOINTS
    + telephony.ENDPOINTS
    + trunks.ENDPOINTS
    + unit_calls.ENDPOINTS
    + callbacks.ENDPOINTS
)
API_VERSION = "1.0.0"


def document(documented: Iterable[openapi.Operation] = ()) -> dict[str, object]:
    """The OpenAPI document of the CRM's routes and of `documented` ones mounted beside."""
    return openapi.build(ENDPOINTS, "hotline CRM", API_VERSION,
                         (*recordings.DOCUMENTED, *documented))  # fmt: skip


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
    recordings_dir: Path | None = None,
    link_secret: bytes | None = None,
    emergency: EmergencyRules = DEFAULT_RULES,
    exchange_door: exchange.ExchangeDoor | None = None,
    supervisor_phones: Sequence[str] | None = None,
    department_phones: Sequence[str] | None = None,
    telephony_hooks: telephony.TelephonyHooks | None = None,
    trunk_states: trunks.TrunkStates = trunks.none_reported,
    unit_dialler: unit_calls.Dialler | None = None,
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
    document. Recordings are served from `recordings_dir` (None: none are); their playback
    links are signed with a key derived from `link_secret` (None: a random one, so links
    die with the process). `emergency` is the `[emergency]` settings (the result's due
    time after a hand-over, the duty leaders who read alerts). `exchange_door` opens the
    receiving centres' signed endpoint (`crm.api.exchange`; None: no peers, no route).
    `telephony_hooks`: the running centre's checks of a telephony configuration and who is
    told of a new version (`crm.api.telephony`; None: neither). `trunk_states` reads the
    trunks' health the call process published (GET /api/trunks). `unit_dialler` places the
    handling units' calls to citizens (`crm.api.unit_calls`; None: no outbound trunk).
    """
    if not valid_centre_code(centre_code):
        raise ValueError(f"invalid centre code {centre_code!r}")
    phones = None if supervisor_phones is None else tuple(supervisor_phones)
    departments = None if department_phones is None else tuple(department_phones)
    settings = Settings(centre_code, max_body_bytes, emergency, phones, departments)
    app = web.Application(middlewares=[error_middleware], client_max_size=max_body_bytes)
    app[SESSIONS] = sessions
    app[ENGINE] = bound_engine(sessions)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[SEGMENTER] = LazySegmenter(segmenter)
    app[AUTH] = Authenticator(sessions, cache_ttl_s)
    app[CALENDAR] = CalendarCache()
    app[USERS_CHANGED] = users_changed
    app[telephony.HOOKS] = telephony_hooks or telephony.TelephonyHooks()
    app[trunks.TRUNK_STATES] = trunk_states
    if unit_dialler is not None:
        app[unit_calls.DIALLER] = unit_dialler
    key = derive_key(link_secret if link_secret is not None else secrets.token_bytes(32))
    app[RECORDINGS] = RecordingFiles(recordings_dir, key)
    app.on_response_prepare.append(security_headers(connect_src))
    served = document((*documented, *(exchange.DOCUMENTED if exchange_door else ())))

    async def serve_openapi(_request: web.Request) -> web.Response:
        return web.json_response(served)

    app.router.add_get("/api/openapi.json", serve_openapi)
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, bind(endpoint))
    recordings.add_routes(app)
    if exchange_door is not None:
        exchange.add_routes(app, exchange_door)
    return app
