"""The orders whose centre callback (回访) is due, for the desk's to-do list: every order the
handling unit has replied on (REPLIED), the longest waiting first, with when the unit replied
and how many callback attempts were made since. The caller's number of a confidential order
is masked for everyone: the desk dials it without showing it (`crm.usecases.revisit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crm.db.models import AuditEntry, WorkOrder
from crm.domain.enums import Action, OrderType, Status
from crm.domain.masking import caller_view
from crm.domain.revisit import ATTEMPT_ACTION

MAX_LIMIT = 200
MATTER_CHARS = 60  # of the order's text: enough to recognise it in a list


@dataclass(frozen=True)
class DueCallback:
    order_id: int
    number: str  # the order's number
    order_type: OrderType
    matter: str  # the order's text, clipped
    caller_number: str  # masked when confidential
    confidential: bool
    replied_at: datetime  # the unit's reply (naive UTC)
    attempts: int  # callback attempts since the reply


async def due_callbacks(session: AsyncSession, limit: int) -> list[DueCallback]:
    """The REPLIED orders, oldest reply first (an order put there without a reply entry, by
    its last change)."""
    order, reply, attempt = WorkOrder, aliased(AuditEntry), aliased(AuditEntry)
    replied = (
        select(func.max(reply.at))
        .where(reply.order_id == order.id, reply.action == Action.REPLY.value)
        .scalar_subquery()
    )
    due = (
        select(order.id.label("order_id"),
               func.coalesce(replied, order.updated_at).label("replied_at"))
        .where(order.status == Status.REPLIED)
        .order_by(func.coalesce(replied, order.updated_at), order.id)
        .limit(limit)
        .subquery()
    )  # fmt: skip
    attempts = (
        select(func.count(attempt.id))
        .where(attempt.order_id == due.c.order_id, attempt.action == ATTEMPT_ACTION)
        .where(attempt.at >= due.c.replied_at)
        .scalar_subquery()
    )
    query = (
        select(order.id, order.number, order.order_type, order.text, order.caller_number,
               order.confidential, due.c.replied_at, attempts.label("attempts"))
        .join(due, due.c.order_id == order.id)
        .order_by(due.c.replied_at, order.id)
    )  # fmt: skip
    return [_due(r) for r in await session.execute(query)]


def _due(row: Row[Any]) -> DueCallback:
    number = caller_view("", row.caller_number, row.confidential, None).number
    return DueCallback(
        order_id=row.id, number=row.number, order_type=row.order_type,
        matter=row.text[:MATTER_CHARS], caller_number=number, confidential=row.confidential,
        replied_at=row.replied_at, attempts=row.attempts,
    )  # fmt: skip
