"""The CRM as agent desktops use it: the caller summary for pops, the order of a call.

A thin adapter: a session per unit of work around the CRM's call-order use cases
(crm.usecases.call_order), the CRM's refusals as `OrderRejected`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from crm.db.engine import SessionFactory
from crm.domain.caller import CallerSummary
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.errors import CrmError
from crm.repo.calendar import CalendarCache
from crm.usecases import call_order
from telephony.tracker import Call


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
        self.calendar = CalendarCache()  # read again only after a calendar edit

    async def caller_summary(self, number: str) -> CallerSummary:
        """What the screen pop shows of the caller (the CRM decides: crm.domain.caller)."""
        async with self.sessions() as session:
            return await call_order.caller_summary(session, number)

    async def save(
        self, user_id: int, role: str, form: dict[str, Any], call: Call
    ) -> dict[str, Any]:
        """Register the order of `call` from the desktop's form (the call fills in the caller),
        or, if the call has its order already, amend it with the form's fields (one call, one
        order: see crm.usecases.call_order). OrderRejected for a bad form or an order that may
        no longer be amended."""
        taken = call_order.TakenCall(
            call.linkedid, call.caller_number, call.caller_name, call.recording
        )
        actor = Actor(user_id=user_id, role=Role(role), unit_id=None)
        try:
            async with self.sessions() as session, session.begin():
                return await call_order.save_call_order(
                    session,
                    form,
                    taken,
                    actor,
                    centre_code=self.centre_code,
                    now=self.clock(),
                    calendar=await self.calendar.get(session),
                )
        except CrmError as exc:
            raise OrderRejected(exc.field or "order", exc.message) from None
