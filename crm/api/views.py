"""Turning stored orders into API answers for one reader: masking, allowed actions, overdue."""

from datetime import UTC, date, datetime

from crm.api.schemas import CallOut, HistoryItemOut, OrderOut
from crm.db.models import WorkOrder
from crm.domain import deadlines, lifecycle
from crm.domain.clock import local_midnight_utc
from crm.domain.enums import DUE_STATUSES, OPEN_STATUSES
from crm.domain.masking import caller_view
from crm.repo.orders import HistoryItem
from crm.usecases.register import RegisteredOrder
from crm.usecases.transition import facts

# a stored order, or one just registered (answered without loading it back)
OrderLike = WorkOrder | RegisteredOrder


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def maybe_aware(value: datetime | None) -> datetime | None:
    return aware(value) if value is not None else None


def query_instant(value: date | datetime | None) -> datetime | None:
    """A query's `since`: an instant as naive UTC (the database's), a date as its local
    midnight."""
    if value is None or isinstance(value, datetime):
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)
    return local_midnight_utc(value)


def is_overdue(order: OrderLike, today: date, now: datetime) -> bool:
    if order.status in DUE_STATUSES and deadlines.is_overdue(order.due_date, today):
        return True
    if order.status not in OPEN_STATUSES:
        return False
    if order.handed_over_at is None:  # the 10-minute clock runs until a confirmed hand-over
        return order.transfer_due_at is not None and now > order.transfer_due_at
    return order.result_due_at is not None and now > order.result_due_at


def order_out(order: OrderLike, actor: lifecycle.Actor, today: date, now: datetime) -> OrderOut:
    caller = caller_view(order.caller_name, order.caller_number, order.confidential, actor.role)
    return OrderOut(
        id=order.id,
        number=order.number,
        channel=order.channel,
        caller_name=caller.name,
        caller_number=caller.number,
        confidential=order.confidential,
        location=order.location,
        text=order.text,
        order_type=order.order_type,
        urgency=order.urgency,
        severity=order.severity,
        status=order.status,
        lead_unit_id=order.lead_unit_id,
        assist_unit_ids=[a.unit_id for a in order.assists],
        registered_at=aware(order.registered_at),
        updated_at=aware(order.updated_at),
        closed_at=maybe_aware(order.closed_at),
        due_date=order.due_date,
        due_provisional=order.due_provisional,
        due_date_note=deadlines.PROVISIONAL_NOTE if order.due_provisional else None,
        overdue=is_overdue(order, today, now),
        transfer_due_at=maybe_aware(order.transfer_due_at),
        transferred_at=maybe_aware(order.transferred_at),
        transfer_target=order.transfer_target,
        stability_clue=order.stability_clue,
        handed_over_at=maybe_aware(order.handed_over_at),
        handover_confirmed_by=order.handover_confirmed_by,
        result_due_at=maybe_aware(order.result_due_at),
        transfer_warned_at=maybe_aware(order.transfer_warned_at),
        transfer_escalated_at=maybe_aware(order.transfer_escalated_at),
        extensions_granted=order.extensions_granted,
        extension_days=order.extension_days,
        extension_requested_days=order.extension_requested_days,
        result=order.result,
        satisfaction=order.satisfaction,
        rework_count=order.rework_count,
        not_accepted_reason=order.not_accepted_reason,
        repeat_of_id=order.repeat_of_id,
        calls=[
            CallOut(linkedid=k.linkedid, recording=k.recording, attached_at=aware(k.attached_at))
            for k in order.calls
        ],
        allowed_actions=lifecycle.allowed_actions(facts(order), actor),
    )


def history_out(item: HistoryItem, actor: lifecycle.Actor) -> HistoryItemOut:
    caller = caller_view(item.caller_name, "", item.confidential, actor.role)
    return HistoryItemOut(
        id=item.id,
        number=item.number,
        registered_at=aware(item.registered_at),
        order_type=item.order_type,
        status=item.status,
        excerpt=item.excerpt,
        caller_name=caller.name,
        confidential=item.confidential,
    )
