"""Registering a new work order from a call or another channel."""

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from crm.db.prepared import DriverConnection
from crm.domain import deadlines, emergency, lifecycle, numbering
from crm.domain.calendar import WorkCalendar
from crm.domain.clock import local_date
from crm.domain.enums import Channel, OrderType, Severity, Status, Urgency
from crm.repo import audit, orders
from crm.usecases.alerts import raise_alert
from crm.usecases.recordings import attach_to_orders

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
    stability_clue: bool = False  # threatens social stability: to 110 at once (rules §8)


@dataclass(frozen=True)
class StoredCall:
    linkedid: str
    recording: str
    attached_at: datetime


@dataclass(frozen=True)
class RegisteredOrder:
    """A just-stored order, as the API answers it, without loading it back through the ORM.

    The fields mirror WorkOrder's columns; those a new order cannot have yet (units, outcome,
    transfer, extension request) keep their empty defaults.
    """

    id: int
    number: str
    channel: Channel
    caller_name: str
    caller_number: str
    confidential: bool
    location: str
    text: str
    order_type: OrderType
    urgency: Urgency
    severity: Severity
    status: Status
    registered_by: int
    registered_at: datetime
    updated_at: datetime
    limit_start: date
    due_date: date | None
    due_provisional: bool
    statutory_days: int | None
    extensions_granted: int
    extension_days: int
    transfer_due_at: datetime | None
    result: str
    rework_count: int
    repeat_of_id: int | None
    stability_clue: bool
    handover_confirmed_by: str
    calls: tuple[StoredCall, ...]
    lead_unit_id: None = None
    assists: tuple[()] = ()
    closed_at: None = None
    transferred_at: None = None
    transfer_target: None = None
    extension_requested_days: None = None
    satisfaction: None = None
    not_accepted_reason: None = None
    handed_over_at: None = None
    result_due_at: None = None
    transfer_warned_at: None = None
    transfer_escalated_at: None = None


def _calls(refs: tuple[CallRef, ...], at: datetime) -> tuple[StoredCall, ...]:
    """One call per Linkedid: a repeated one only fills in its recording (as add_call does)."""
    recordings: dict[str, str] = {}
    for ref in refs:
        if ref.linkedid not in recordings or ref.recording:
            recordings[ref.linkedid] = ref.recording
    return tuple(StoredCall(linkedid, rec, at) for linkedid, rec in recordings.items())


async def _attach_checked_recordings(
    db: AsyncSession | AsyncConnection,
    order_id: int,
    calls: tuple[StoredCall, ...],
    actor: lifecycle.Actor,
    now: datetime,
) -> tuple[StoredCall, ...]:
    """Calls whose recording was checked before the order was saved: attached now (audited),
    the recording name filled in where the order had none."""
    for linkedid in {k.linkedid for k in calls}:
        for done in await attach_to_orders(db, linkedid, actor, now, order_id=order_id):
            if done.filled:
                calls = tuple(
                    replace(k, recording=done.filled) if k.linkedid == linkedid else k
                    for k in calls
                )
    return calls


async def register_order(
    db: AsyncSession | AsyncConnection,
    new: NewOrder,
    actor: lifecycle.Actor,
    *,
    centre_code: str,
    now: datetime,
    calendar: WorkCalendar,
    intake_at: datetime | None = None,
    emergency_call: bool = False,
) -> RegisteredOrder:
    """Number, time-limit and store a new order, link it to an open repeat, and audit it.
    `intake_at`: when the matter came in (the call's answer), which the 10-minute clock runs
    from (default `now`); `emergency_call`: the call reached or was sent towards 110/119/120,
    which puts the order on that clock whatever its type.

    Every write joins `db`'s transaction (begun if need be); the caller commits. Prepared
    statements with rows known in full (see crm.db.prepared): this is the hot path of every
    call, and the ORM's bookkeeping cost several times the database work.
    """
    status = lifecycle.check_register(actor, new.channel)
    today = local_date(now)
    due = deadlines.due_date(
        today, new.order_type, new.urgency, calendar, statutory_days=new.statutory_days
    )
    driver = await DriverConnection.of(db)
    sequence = await orders.next_sequence(driver, centre_code, today)
    repeat_of = await orders.find_open_repeat(
        driver, new.caller_number, new.location, new.order_type
    )
    values: dict[str, Any] = {
        "number": numbering.order_number(centre_code, today, sequence),
        "channel": new.channel,
        "caller_name": new.caller_name,
        "caller_number": new.caller_number,
        "confidential": new.confidential,
        "location": new.location,
        "text": new.text,
        "order_type": new.order_type,
        "urgency": new.urgency,
        "severity": new.severity,
        "status": status,
        "registered_by": actor.user_id,
        "registered_at": now,
        "updated_at": now,
        "limit_start": today,
        "due_date": due.day if due else None,
        "due_provisional": due.provisional if due else False,
        "statutory_days": new.statutory_days,
        "extensions_granted": 0,
        "extension_days": 0,
        "transfer_due_at": emergency.transfer_due(
            new.order_type, new.stability_clue, intake_at or now, emergency_call=emergency_call
        ),
        "result": "",
        "rework_count": 0,
        "repeat_of_id": repeat_of,
        "stability_clue": new.stability_clue,
        "handover_confirmed_by": "",
    }
    calls = _calls(new.calls, now)
    rows = [{"linkedid": k.linkedid, "recording": k.recording, "attached_at": now} for k in calls]
    order_id = await orders.insert_order(driver, values, rows)
    detail: dict[str, object] = {"number": values["number"]}
    if repeat_of is not None:
        detail["repeat_of"] = repeat_of
    await audit.append(driver, order_id, actor, "register", None, status, now, detail)
    for kind in emergency.registration_alerts(new.severity, new.stability_clue, new.channel):
        await raise_alert(db, order_id, status, kind, actor, now, {"at": "registration"})
    calls = await _attach_checked_recordings(db, order_id, calls, actor, now)
    log.info("order %s registered (%s)", values["number"], new.order_type)  # no caller number
    return RegisteredOrder(id=order_id, calls=calls, **values)
