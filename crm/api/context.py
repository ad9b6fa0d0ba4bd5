"""What a handler gets: the request, its unit-of-work session, the caller and the settings."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, TypeVar

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.engine import SessionFactory
from crm.domain.clock import local_date
from crm.domain.lifecycle import Actor
from crm.segmenter import Segmenter


@dataclass(frozen=True)
class Settings:
    """Plain values the wiring root passes to `create_app`."""

    centre_code: str
    max_body_bytes: int = 256 * 1024


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


SESSIONS = web.AppKey("crm_sessions", SessionFactory)
SETTINGS = web.AppKey("crm_settings", Settings)
CLOCK = web.AppKey("crm_clock", Clock)
SEGMENTER = web.AppKey("crm_segmenter", LazySegmenter)


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Ctx:
    request: web.Request
    session: AsyncSession
    actor: Actor
    now: datetime
    inputs: tuple[BaseModel, ...] = ()

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

    def int_param(self, name: str) -> int:
        """A numeric path parameter; routes only match digits, so this cannot fail."""
        return int(self.request.match_info[name])
