"""The audit of supervisors' listen / whisper / barge: admins read every session,
supervisors their own."""

from datetime import datetime

from aiohttp import web
from pydantic import Field

from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.schemas import Out
from crm.api.views import aware, maybe_aware
from crm.domain.enums import Role
from crm.intake import Strict
from crm.usecases import spy_sessions


class SpyQuery(Strict):
    limit: int = Field(default=100, ge=1, le=500)


class ModeOut(Out):
    mode: str  # listen / whisper / barge
    at: datetime


class SpySessionOut(Out):
    id: int
    supervisor_id: int | None
    phone: str  # the supervisor's phone
    linkedid: str  # the call
    agent: str  # the call's agent
    orders: list[str]  # the call's order numbers
    modes: list[ModeOut]  # each mode in turn, from the moment Asterisk confirmed it
    requested_at: datetime
    joined_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None  # joined to ended
    end_code: str  # left, spyee_gone, no_answer, not_confirmed …
    recording: str  # the whisper/barge file (a recording of kind "supervision")


class SpySessionList(Out):
    items: list[SpySessionOut]


def _out(view: spy_sessions.SpyView) -> SpySessionOut:
    r = view.row
    modes = [ModeOut(mode=m["mode"], at=aware(datetime.fromisoformat(m["at"]))) for m in r.modes]
    return SpySessionOut(
        id=r.id, supervisor_id=r.supervisor_id, phone=r.phone, linkedid=r.linkedid,
        agent=r.agent, orders=list(view.orders), modes=modes,
        requested_at=aware(r.requested_at), joined_at=maybe_aware(r.joined_at),
        ended_at=maybe_aware(r.ended_at), duration_s=r.duration_s, end_code=r.end_code,
        recording=r.recording,
    )  # fmt: skip


async def list_spy_sessions(ctx: Ctx) -> web.StreamResponse:
    query = ctx.input(SpyQuery)
    own = None if ctx.actor.role is Role.ADMIN else ctx.actor.user_id
    views = await spy_sessions.list_sessions(ctx.session, own, query.limit)
    return json(SpySessionList(items=[_out(v) for v in views]))


ENDPOINTS = (
    Endpoint("GET", "/api/supervision/spy-sessions", list_spy_sessions,
             "Supervisors' listen / whisper / barge sessions, newest first (admins: all; "
             "supervisors: their own)", frozenset({Role.ADMIN, Role.SUPERVISOR}),
             query=SpyQuery, response=SpySessionList),
)  # fmt: skip
