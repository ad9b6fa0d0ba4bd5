"""The audit of supervisors' listen / whisper / barge: admins read every session,
supervisors their own."""

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import Field

from crm.api.call_schemas import LINKEDID_PATTERN, Extension, When
from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.schemas import Id, Out
from crm.api.views import aware, maybe_aware, query_instant
from crm.domain.enums import Role
from crm.intake import Strict
from crm.usecases import spy_sessions


class SpyQuery(Strict):
    """Newest first; `before_id`: the last `id` of the previous page."""

    linkedid: Annotated[str, Field(pattern=f"^{LINKEDID_PATTERN}$")] | None = None
    agent: Extension | None = Field(default=None, description="the call's agent")
    supervisor_id: Id | None = Field(default=None, description="admins only: one supervisor")
    since: When | None = None
    before_id: Id | None = None
    limit: int = Field(default=100, ge=1, le=spy_sessions.MAX_LIMIT)


class ModeOut(Out):
    mode: str  # listen / whisper / barge
    at: datetime


class SpySessionOut(Out):
    id: int
    supervisor_id: int | None
    supervisor_name: str  # "" when the user is unknown
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
        id=r.id, supervisor_id=r.supervisor_id, supervisor_name=view.supervisor_name,
        phone=r.phone, linkedid=r.linkedid, agent=r.agent, orders=list(view.orders), modes=modes,
        requested_at=aware(r.requested_at), joined_at=maybe_aware(r.joined_at),
        ended_at=maybe_aware(r.ended_at), duration_s=r.duration_s, end_code=r.end_code,
        recording=r.recording,
    )  # fmt: skip


async def list_spy_sessions(ctx: Ctx) -> web.StreamResponse:
    query = ctx.input(SpyQuery)
    own = None if ctx.actor.role is Role.ADMIN else ctx.actor.user_id
    wanted = spy_sessions.SpyFilter(
        supervisor_id=query.supervisor_id if own is None else own, linkedid=query.linkedid,
        agent=query.agent, since=query_instant(query.since), before_id=query.before_id,
        limit=query.limit,
    )  # fmt: skip
    if own is not None and query.supervisor_id not in (None, own):
        return json(SpySessionList(items=[]))  # a supervisor reads only their own
    views = await spy_sessions.list_sessions(ctx.session, wanted)
    return json(SpySessionList(items=[_out(v) for v in views]))


ENDPOINTS = (
    Endpoint("GET", "/api/supervision/spy-sessions", list_spy_sessions,
             "Supervisors' listen / whisper / barge sessions, newest first (admins: all; "
             "supervisors: their own)", frozenset({Role.ADMIN, Role.SUPERVISOR}),
             query=SpyQuery, response=SpySessionList),
)  # fmt: skip
