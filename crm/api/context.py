"""What a handler gets: the request, its transaction, the caller and the settings."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Protocol, TypeVar

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from crm.api.caches import Authenticator
from crm.api.schemas import MAX_ID
from crm.api.throttle import FailureThrottle
from crm.db.engine import SessionFactory
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.clock import local_date
from crm.domain.emergency import DEFAULT_RULES, EmergencyRules
from crm.domain.lifecycle import Actor
from crm.domain.playback_links import LINK_TTL_S
from crm.errors import InvalidInput
from crm.repo.calendar import CalendarCache
from crm.segmenter import Segmenter


@dataclass(frozen=True)
class Settings:
    """Plain values the wiring root passes to `create_app`."""

    centre_code: str
    max_body_bytes: int = 256 * 1024
    emergency: EmergencyRules = DEFAULT_RULES  # the `[emergency]` settings
    # the phones supervisors and admins may be bound to (None: not checked)
    supervisor_phones: tuple[str, ...] | None = None
    # the departments' phones handlers may be bound to (None: not checked)
    department_phones: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RecordingFiles:
    """Where the call recordings lie (None: none are served) and the playback links' key;
    `forged` counts forged links per client, so a flood of them cannot flood the log."""

    root: Path | None
    link_key: bytes
    link_ttl_s: int = LINK_TTL_S
    forged: FailureThrottle = field(default_factory=FailureThrottle)


class LazySegmenter:
    """Builds the jieba segmenter on first use: it costs a second, and only routing needs it."""

    def __init__(self, segmenter: Segmenter | None = None) -> None:
        self._segmenter = segmenter

    def get(self) -> Segmenter:
        if self._segmenter is None:
            self._segmenter = Segmenter()
        return self._segmenter


class Clock(Protocol):
    """Returns naive UTC now; tests pass a fixed clock to walk deadlines."""

    def __call__(self) -> datetime: ...


class UsersChanged(Protocol):
    """Called once a change to users has committed (the wiring root tells the desktops' side
    who may still be connected); must not raise."""

    def __call__(self) -> Awaitable[None]: ...


async def nobody_listens() -> None:
    """The default `UsersChanged`: a CRM without desktops."""


SESSIONS = web.AppKey("crm_sessions", SessionFactory)
ENGINE = web.AppKey("crm_engine", AsyncEngine)
SETTINGS = web.AppKey("crm_settings", Settings)
CLOCK = web.AppKey("crm_clock", Clock)
SEGMENTER = web.AppKey("crm_segmenter", LazySegmenter)
AUTH = web.AppKey("crm_auth", Authenticator)
CALENDAR = web.AppKey("crm_calendar", CalendarCache)
USERS_CHANGED = web.AppKey("crm_users_changed", UsersChanged)
RECORDINGS = web.AppKey("crm_recordings", RecordingFiles)


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Ctx:
    request: web.Request
    # in the request's transaction; None for an endpoint that opens short sessions of its own
    # (`Endpoint.transaction`)
    connection: AsyncConnection | None
    actor: Actor
    now: datetime
    inputs: tuple[BaseModel, ...] = ()
    # run (and awaited if async) once the request's transaction has committed, e.g. to drop a
    # cache of what it changed
    after_commit: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)

    @cached_property
    def session(self) -> AsyncSession:
        """An ORM session inside the request's transaction, made on first use.

        Registering an order (the hot path) needs none; a session costs ~100 us to set up.
        It never commits: `bind` flushes it and commits the connection's transaction.
        """
        return self.request.app[SESSIONS](bind=self.tx, join_transaction_mode="rollback_only")

    @property
    def tx(self) -> AsyncConnection:
        """The connection in the request's transaction."""
        if self.connection is None:
            raise RuntimeError("this endpoint runs without a request transaction")
        return self.connection

    def short_session(self) -> AsyncSession:
        """A session of its own, outside the request's transaction, for one short read."""
        return self.request.app[SESSIONS]()

    def opened_session(self) -> AsyncSession | None:
        """The session if a handler used one (cached_property keeps it in __dict__)."""
        found: AsyncSession | None = self.__dict__.get("session")
        return found

    def input(self, model: type[M]) -> M:
        """The parsed body or query of this type (declared on the endpoint)."""
        for value in self.inputs:
            if isinstance(value, model):
                return value
        raise LookupError(f"endpoint declares no {model.__name__} input")

    @property
    def today(self) -> date:
        return local_date(self.now)

    @property
    def settings(self) -> Settings:
        return self.request.app[SETTINGS]

    async def calendar(self) -> ChineseWorkCalendar:
        """The working calendar, reloaded only after an edit (see crm.repo.calendar)."""
        return await self.request.app[CALENDAR].get(self.tx)

    def int_param(self, name: str) -> int:
        """A numeric path parameter (routes match digits only) within the databases' ids."""
        raw = self.request.match_info[name]
        value = int(raw) if len(raw) <= 10 else 0  # no 10,000-digit int() from a URL
        if not 1 <= value <= MAX_ID:
            raise InvalidInput("invalid_value", f"{name} must be between 1 and {MAX_ID}", name)
        return value
