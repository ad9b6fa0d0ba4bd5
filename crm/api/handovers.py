"""`GET /api/orders/{id}/handovers`: where an order's exchange with 110/119/120 stands.

The centre's roles read it (the supervisor page, the agent who transferred): each hand-over or
reply sent, or matter received, with its status, attempts, the peer's incident number and
result. The payload stays out (it holds the caller as sent); the order itself has the caller
under the usual masking.
"""

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select

from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.orders import ORDER
from crm.db.exchange_models import Handover
from crm.domain.enums import CENTRE_ROLES, HandoverDirection, HandoverStatus
from crm.usecases.transition import load_visible


class HandoverOut(BaseModel):
    id: int
    direction: HandoverDirection
    kind: str  # handover, reply (sent) or matter (received)
    line: str
    message_id: str
    status: HandoverStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    accepted_at: datetime | None
    incident_number: str
    remote_number: str
    result: str
    result_at: datetime | None


class HandoverList(BaseModel):
    items: list[HandoverOut]


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None else None


def _out(h: Handover) -> HandoverOut:
    return HandoverOut(
        id=h.id, direction=h.direction, kind=str(h.payload.get("kind", "")), line=h.line,
        message_id=h.message_id, status=h.status, attempts=h.attempts,
        next_attempt_at=_utc(h.next_attempt_at), last_error=h.last_error,
        created_at=h.created_at.replace(tzinfo=UTC), delivered_at=_utc(h.delivered_at),
        accepted_at=_utc(h.accepted_at), incident_number=h.incident_number,
        remote_number=h.remote_number, result=h.result, result_at=_utc(h.result_at),
    )  # fmt: skip


async def order_handovers(ctx: Ctx) -> web.StreamResponse:
    order = await load_visible(ctx.session, ctx.int_param("order_id"), ctx.actor)
    rows = await ctx.session.scalars(
        select(Handover).where(Handover.order_id == order.id).order_by(Handover.id)
    )
    return json(HandoverList(items=[_out(h) for h in rows]))


ENDPOINTS = (
    Endpoint("GET", ORDER + "/handovers", order_handovers,
             "The order's exchange with 110/119/120: hand-overs, replies, matters (centre)",
             CENTRE_ROLES, response=HandoverList),
)  # fmt: skip
