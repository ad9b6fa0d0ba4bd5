"""The CRM as agent desktops use it: the caller's history for pops, the order of a call."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from agent_gateway.desk.rules import MAX_ORDER_NAME
from crm.api.caches import CalendarCache
from crm.api.orders import new_order
from crm.api.schemas import OrderIn
from crm.db.engine import SessionFactory
from crm.db.models import OrderCall, WorkOrder
from crm.domain.clock import utc_now
from crm.domain.deadlines import PROVISIONAL_NOTE
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.errors import CrmError
from crm.repo.orders import caller_history
from crm.usecases.amend import AMENDABLE, amend_order
from crm.usecases.register import register_order
from telephony.tracker import Call

HISTORY_LIMIT = 10


class OrderRejected(ValueError):
    """The order form does not make a valid order; `field` names the first bad field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class DeskOrders:
    def __init__(
        self,
        sessions: SessionFactory,
        centre_code: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessions = sessions
        self.centre_code = centre_code
        self.clock = clock
        self.calendar = CalendarCache()  # read once per TTL, not on every save

    async def history(self, number: str) -> list[dict[str, Any]]:
        """The caller's newest orders, as the screen pop lists them."""
        async with self.sessions() as session:
            items = await caller_history(session, number, HISTORY_LIMIT)
        return [
            {
                "id": item.id,
                "number": item.number,
                "registered_at": item.registered_at.isoformat(),
                "order_type": item.order_type.value,
                "status": item.status.value,
                "excerpt": item.excerpt,
                "confidential": item.confidential,
            }
            for item in items
        ]

    async def order_of(self, linkedid: str) -> dict[str, Any] | None:
        """The order already registered for a call, if any."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(WorkOrder.id, WorkOrder.number)
                    .join(OrderCall, OrderCall.order_id == WorkOrder.id)
                    .where(OrderCall.linkedid == linkedid)
                    .limit(1)
                )
            ).first()
        return None if row is None else {"order_id": row[0], "number": row[1]}

    async def save(
        self, user_id: int, role: str, form: dict[str, Any], call: Call
    ) -> dict[str, Any]:
        """Register the order of `call` from the desktop's form (the call fills in the caller),
        or, if the call has its order already, amend it with the form's fields.

        A call has one order: saving again (a correction, a double click, a retry after a lost
        reply) amends that order, which changes nothing when the form is the same.
        """
        fields = {k: v for k, v in form.items() if k != "call_id"}
        fields.setdefault("caller_number", call.caller_number)
        fields.setdefault("caller_name", call.caller_name[:MAX_ORDER_NAME])
        fields["calls"] = [{"linkedid": call.linkedid, "recording": call.recording}]
        try:
            body = OrderIn.model_validate_json(json.dumps(fields))  # strict, JSON semantics
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            raise OrderRejected(".".join(map(str, first["loc"])) or "order", first["msg"]) from None
        actor = Actor(user_id=user_id, role=Role(role), unit_id=None)
        existing = await self.order_of(call.linkedid)
        if existing is not None:
            changes = {name: getattr(body, name) for name in AMENDABLE & form.keys()}
            due, changed = await self._amend(existing["order_id"], changes, actor)
            return {**existing, "call_id": call.linkedid, **due, "amended": changed}
        new = new_order(body)
        async with self.sessions() as session, session.begin():
            order = await register_order(
                session,
                new,
                actor,
                centre_code=self.centre_code,
                now=self.clock(),
                calendar=await self.calendar.get(session),
            )
            return {
                "order_id": order.id,
                "number": order.number,
                "call_id": call.linkedid,
                **_due(order.due_date, order.due_provisional),
            }

    async def _amend(
        self, order_id: int, changes: dict[str, Any], actor: Actor
    ) -> tuple[dict[str, str | None], list[str]]:
        try:
            async with self.sessions() as session, session.begin():
                order, diff = await amend_order(
                    session,
                    order_id,
                    changes,
                    actor,
                    now=self.clock(),
                    calendar=await self.calendar.get(session),
                )
                due = _due(order.due_date, order.due_provisional)
        except CrmError as exc:
            raise OrderRejected(exc.field or "order", exc.message) from None
        return due, sorted(diff)


def _due(day: date | None, provisional: bool) -> dict[str, str | None]:
    """The time limit as the desk shows it, with why a provisional one may still move."""
    return {
        "due_date": day.isoformat() if day is not None else None,
        "due_date_note": PROVISIONAL_NOTE if provisional else None,
    }
