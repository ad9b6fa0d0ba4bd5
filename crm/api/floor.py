"""HTTP handler of the floor's trail: supervisors' actions on agents (supervisors, admins)."""

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from crm.api.call_schemas import Extension, When
from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.schemas import Id, Out
from crm.api.views import aware, maybe_aware, query_instant
from crm.db.floor_models import FloorAction
from crm.domain.enums import Role
from crm.intake import Strict
from crm.usecases import floor_actions


class FloorQuery(Strict):
    """Newest first; `before_id`: the last `id` of the previous page."""

    extension: Extension | None = Field(default=None, description="the agent acted on")
    since: When | None = None
    before_id: Id | None = None
    limit: int = Field(default=50, ge=1, le=floor_actions.MAX_LIMIT)


class FloorActionOut(Out):
    id: int
    at: datetime
    user_id: int
    user_name: str
    role: Role
    extension: str = Field(description="the agent acted on")
    action: str = Field(description="force_pause, force_unpause, force_logout, move_queue, "
                        "assign_queue")  # fmt: skip
    queue: str = Field(description='the queue joined (move_queue, assign_queue), else ""')
    from_queue: str = Field(description='the queue left (move_queue), else ""')
    pause_reason: str = Field(description='the pause (force_pause), else ""')
    reason: str = Field(description="the supervisor's reason text")
    outcome: str = Field(description="pending, done, or the refusal's code (not_confirmed ...)")
    ended_at: datetime | None


class FloorActionList(BaseModel):
    items: list[FloorActionOut]


def _out(row: FloorAction) -> FloorActionOut:
    return FloorActionOut(
        id=row.id, at=aware(row.at), user_id=row.user_id, user_name=row.user_name, role=row.role,
        extension=row.extension, action=row.action, queue=row.queue, from_queue=row.from_queue,
        pause_reason=row.pause_reason, reason=row.reason, outcome=row.outcome,
        ended_at=maybe_aware(row.ended_at),
    )  # fmt: skip


async def list_floor_actions(ctx: Ctx) -> web.StreamResponse:
    query = ctx.input(FloorQuery)
    rows = await floor_actions.listing(
        ctx.session, ctx.actor, extension=query.extension, since=query_instant(query.since),
        before_id=query.before_id, limit=query.limit,
    )  # fmt: skip
    return json(FloorActionList(items=[_out(r) for r in rows]))


ENDPOINTS = (
    Endpoint("GET", "/api/floor/actions", list_floor_actions,
             "Supervisors' actions on agents from the floor, newest first (supervisors, admins)",
             floor_actions.READERS, query=FloorQuery, response=FloorActionList),
)  # fmt: skip
