"""Registering a new work order from a call or another channel."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import WorkOrder
from crm.domain import deadlines, lifecycle, numbering
from crm.domain.calendar import WorkCalendar
from crm.domain.clock import local_date
from crm.domain.enums import EMERGENCY_TYPES, Channel, OrderType, Severity, Urgency
from crm.domain.masking import caller_view
from crm.repo import audit, orders

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallRef:
    linkedid: str
    recording: str = ""


@dataclass(frozen=True)
class NewOrder:
    channel: Channel
    text: str
    order_type: OrderType
    caller_name: str = ""
    caller_number: str = ""
    confidential: bool = False
    location: str = ""
    urgency: Urgency = Urgency.NORMAL
    severity: Severity = Severity.GENERAL
    statutory_days: int | None = None
    calls: tuple[CallRef, ...] = ()


async def register_order(
    session: AsyncSession,
    new: NewOrder,
    actor: lifecycle.Actor,
    *,
    centre_code: str,
    now: datetime,
    calendar: WorkCalendar,
) -> WorkOrder:
    """Number, time-limit and store a new order, link it to an open repeat, and audit it."""
    status = lifecycle.check_register(actor)
    today = local_date(now)
    due = deadlines.due_date(
        today, new.order_type, new.urgency, calendar, statutory_days=new.statutory_days
    )
    sequence = await orders.next_sequence(session, centre_code, today)
    repeat_of = await orders.find_open_repeat(
        session, new.caller_number, new.location, new.order_type
    )
    order = WorkOrder(
        number=numbering.order_number(centre_code, today, sequence),
        channel=new.channel,
        caller_name=new.caller_name,
        caller_number=new.caller_number,
        confidential=new.confidential,
        location=new.location,
        text=new.text,
        order_type=new.order_type,
        urgency=new.urgency,
        severity=new.severity,
        status=status,
        registered_by=actor.user_id,
        registered_at=now,
        updated_at=now,
        limit_start=today,
        due_date=due.day if due else None,
        due_provisional=due.provisional if due else False,
        statutory_days=new.statutory_days,
        extensions_granted=0,
        extension_days=0,
        transfer_due_at=(
            deadlines.transfer_due_at(now) if new.order_type in EMERGENCY_TYPES else None
        ),
        result="",
        rework_count=0,
        repeat_of_id=repeat_of,
        assists=[],
        calls=[],
    )
    for call in new.calls:
        orders.add_call(order, call.linkedid, call.recording, now)
    session.add(order)
    await session.flush()
    detail: dict[str, object] = {"number": order.number}
    if repeat_of is not None:
        detail["repeat_of"] = repeat_of
    await audit.append(session, order.id, actor, "register", None, status, now, detail)
    shown = caller_view(new.caller_name, new.caller_number, new.confidential, None)
    log.info("order %s registered (%s) from %s", order.number, new.order_type, shown.number)
    return order
