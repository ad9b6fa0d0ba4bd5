"""The order of a call, as the agents' desktops keep it, and the caller summary they pop.

One call, one order: saving the call's form again (a correction, a double click, a retry after
a lost reply) amends the order already registered with the call's Linkedid, which changes
nothing when the form is the same, until the order is dispatched. Answers are JSON-ready, in
the shape desktops show.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord
from crm.domain.calendar import WorkCalendar
from crm.domain.caller import MAX_CALLER_NAME, NO_NUMBER, CallerSummary
from crm.domain.deadlines import PROVISIONAL_NOTE
from crm.domain.lifecycle import Actor
from crm.intake import OrderIn, new_order, order_form
from crm.repo import orders
from crm.text import as_line
from crm.usecases.amend import AMENDABLE, amend_order
from crm.usecases.register import register_order

HISTORY_LIMIT = 10  # the caller's newest orders a pop lists
OPEN_ORDERS_LIMIT = 20  # and of their open orders, however old


@dataclass(frozen=True)
class TakenCall:
    """What the CRM needs of the call an order is saved for."""

    linkedid: str
    caller_number: str
    caller_name: str
    recording: str = ""


def intake(form: Mapping[str, Any], call: TakenCall) -> OrderIn:
    """The desktop's form as the CRM's order form: the call fills in the caller (the name as
    a `Line`, cut to the CRM's limit: a control character a phone sent in it cannot cost the
    order) unless the form gives one, and is the order's one call; the form's
    `call_id` is the desk's. InvalidInput names the first bad field."""
    fields = {k: v for k, v in form.items() if k != "call_id"}
    fields.setdefault("caller_number", call.caller_number)
    fields.setdefault("caller_name", as_line(call.caller_name)[:MAX_CALLER_NAME])
    fields["calls"] = [{"linkedid": call.linkedid, "recording": call.recording}]
    return order_form(fields)


async def order_of_call(session: AsyncSession, linkedid: str) -> dict[str, Any] | None:
    """The order already registered for a call, if any."""
    found = await orders.order_of_call(session, linkedid)
    return None if found is None else {"order_id": found[0], "number": found[1]}


async def save_call_order(
    session: AsyncSession,
    form: Mapping[str, Any],
    call: TakenCall,
    actor: Actor,
    *,
    centre_code: str,
    now: datetime,
    calendar: WorkCalendar,
) -> dict[str, Any]:
    """Register the order of `call` from the desktop's form, or, if the call has its order
    already, amend it with the amendable fields the form gives (`amended` lists those that
    changed). CrmError for a bad form or an order no longer amendable. The caller commits.
    The 10-minute clock runs from the call's intake (its record's answer, else arrival), not
    from the save; a call that reached or was sent towards 110/119/120 puts its order on it."""
    body = intake(form, call)
    existing = await order_of_call(session, call.linkedid)
    if existing is not None:
        changes = {name: getattr(body, name) for name in AMENDABLE & form.keys()}
        amended, diff = await amend_order(
            session, existing["order_id"], changes, actor, now=now, calendar=calendar
        )
        due = _due(amended.due_date, amended.due_provisional)
        return {**existing, "call_id": call.linkedid, **due, "amended": sorted(diff)}
    record = await session.get(CallRecord, call.linkedid)
    order = await register_order(
        session, new_order(body), actor, centre_code=centre_code, now=now, calendar=calendar,
        intake_at=None if record is None else min(now, record.answered_at or record.started_at),
        emergency_call=record is not None and (
            record.emergency_started_at is not None or bool(record.emergency_line)
        ),
    )  # fmt: skip
    return {
        "order_id": order.id,
        "number": order.number,
        "call_id": call.linkedid,
        **_due(order.due_date, order.due_provisional),
    }


async def caller_summary(session: AsyncSession, number: str) -> CallerSummary:
    """What the screen pop shows of a caller: their newest orders, their open ones (however
    old), and whether they asked for confidentiality on any earlier order (however old)."""
    if not number:
        return NO_NUMBER
    history = await orders.caller_history(session, number, HISTORY_LIMIT)
    open_orders = await orders.open_orders_of_caller(session, number, OPEN_ORDERS_LIMIT)
    return CallerSummary(
        history=tuple(map(_history_entry, history)),
        open_orders=tuple(map(_history_entry, open_orders)),
        confidential=await orders.caller_asked_confidentiality(session, number),
    )


def _history_entry(item: orders.HistoryItem) -> dict[str, Any]:
    """An earlier order as the screen pop lists it."""
    return {
        "id": item.id,
        "number": item.number,
        "registered_at": item.registered_at.isoformat(),
        "order_type": item.order_type.value,
        "status": item.status.value,
        "excerpt": item.excerpt,
        "confidential": item.confidential,
    }


def _due(day: date | None, provisional: bool) -> dict[str, str | None]:
    """The time limit as the desk shows it, with why a provisional one may still move."""
    return {
        "due_date": day.isoformat() if day is not None else None,
        "due_date_note": PROVISIONAL_NOTE if provisional else None,
    }
