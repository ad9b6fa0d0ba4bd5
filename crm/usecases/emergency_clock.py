"""The 10-minute clock's round (rules §2): warnings before the hand-over limit, escalations
at it, and results overdue after a confirmed hand-over, each raised once per order, stamped
on the order and audited, in one transaction with the alert it raises."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Exists, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.exchange_models import OrderAlert
from crm.db.models import WorkOrder
from crm.domain.emergency import ClockFacts, EmergencyRules, clock_alerts, line_for
from crm.domain.enums import OPEN_STATUSES, AlertKind
from crm.domain.lifecycle import Actor
from crm.usecases.alerts import raise_alert


@dataclass(frozen=True)
class Raised:
    order_number: str
    kind: AlertKind


def _result_overdue_raised() -> Exists:
    return exists().where(
        OrderAlert.order_id == WorkOrder.id, OrderAlert.kind == AlertKind.RESULT_OVERDUE
    )


async def _candidates(
    session: AsyncSession, now: datetime, rules: EmergencyRules
) -> list[tuple[WorkOrder, bool]]:
    """Open orders whose clock may have something to say now, with whether their result's
    alert was raised already."""
    raised = _result_overdue_raised()
    query = (
        select(WorkOrder, raised)
        .where(
            WorkOrder.status.in_(OPEN_STATUSES),
            or_(
                (WorkOrder.handed_over_at.is_(None))
                & WorkOrder.transfer_due_at.is_not(None)
                & WorkOrder.transfer_escalated_at.is_(None)
                & (WorkOrder.transfer_due_at <= now + rules.warn_before),
                WorkOrder.handed_over_at.is_not(None) & (WorkOrder.result_due_at <= now) & ~raised,
            ),
        )
        .order_by(WorkOrder.id)
        .with_for_update(of=WorkOrder)
    )
    return [(order, bool(flag)) for order, flag in (await session.execute(query)).all()]


def _facts(order: WorkOrder, result_overdue_raised: bool) -> ClockFacts:
    return ClockFacts(
        transfer_due_at=order.transfer_due_at,
        handed_over_at=order.handed_over_at,
        warned=order.transfer_warned_at is not None,
        escalated=order.transfer_escalated_at is not None,
        result_due_at=order.result_due_at,
        result_overdue_raised=result_overdue_raised,
        closed=order.status not in OPEN_STATUSES,
    )


async def run_clock(
    session: AsyncSession, actor: Actor, now: datetime, rules: EmergencyRules
) -> list[Raised]:
    """One round of the clock; what it raised. The caller commits."""
    raised: list[Raised] = []
    for order, result_raised in await _candidates(session, now, rules):
        for kind in clock_alerts(_facts(order, result_raised), now, rules):
            if kind is AlertKind.TRANSFER_WARNING:
                order.transfer_warned_at = now
            elif kind is AlertKind.TRANSFER_ESCALATION:
                order.transfer_warned_at = order.transfer_warned_at or now
                order.transfer_escalated_at = now
            await session.flush()
            due = order.result_due_at if kind is AlertKind.RESULT_OVERDUE else order.transfer_due_at
            detail = {
                "line": line_for(order.order_type, order.transfer_target).value,
                "due_at": due.isoformat() if due else None,
            }
            await raise_alert(session, order.id, order.status, kind, actor, now, detail)
            raised.append(Raised(order.number, kind))
    return raised
