"""Amending an order's intake details before dispatch: the call-taker corrects what they typed."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import WorkOrder
from crm.db.prepared import DriverConnection
from crm.domain import emergency, lifecycle
from crm.domain.calendar import WorkCalendar
from crm.repo import audit
from crm.usecases.alerts import has_alert, raise_alert
from crm.usecases.transition import load_visible, recompute_due, refused

AMENDABLE = frozenset(
    {
        "caller_name",
        "confidential",
        "location",
        "text",
        "order_type",
        "urgency",
        "severity",
        "statutory_days",
        "stability_clue",
    }
)
_TIME_LIMIT_FIELDS = frozenset({"order_type", "urgency", "statutory_days", "stability_clue"})


async def amend_order(
    session: AsyncSession,
    order_id: int,
    changes: Mapping[str, Any],
    actor: lifecycle.Actor,
    *,
    now: datetime,
    calendar: WorkCalendar,
) -> tuple[WorkOrder, dict[str, list[Any]]]:
    """Apply `changes` (AMENDABLE fields only) and audit them as one entry; return the order
    and what changed, field → [before, after] (empty: nothing changed, nothing written). A new
    type or urgency counts the time limit again from the intake day; the 10-minute clock
    follows the type and the stability clue (from intake too), and only a supervisor may take
    an order off it. Made major or a clue, it raises its alert as at registration. The caller
    commits."""
    unknown = changes.keys() - AMENDABLE
    if unknown:
        raise ValueError(f"not amendable: {sorted(unknown)}")
    order = await load_visible(session, order_id, actor, for_update=True)
    with refused():
        lifecycle.check_amend(order.status, actor)
    diff = {
        name: [getattr(order, name), value]
        for name, value in changes.items()
        if getattr(order, name) != value
    }
    if not diff:
        return order, {}
    after = {name: value for name, (_, value) in diff.items()}
    with refused():
        lifecycle.check_amend_emergency(
            emergency.is_emergency(order.order_type, order.stability_clue),
            emergency.is_emergency(
                after.get("order_type", order.order_type),
                after.get("stability_clue", order.stability_clue),
            ),
            actor,
        )
    for name, value in after.items():
        setattr(order, name, value)
    if diff.keys() & _TIME_LIMIT_FIELDS:
        recompute_due(order, calendar)
        order.transfer_due_at = emergency.transfer_due(
            order.order_type, order.stability_clue, order.registered_at
        )
    order.updated_at = now
    await session.flush()
    driver = await DriverConnection.of(session)
    status = order.status
    await audit.append(driver, order.id, actor, "amend", status, status, now, {"changes": diff})
    for kind in emergency.registration_alerts(order.severity, order.stability_clue):
        if not await has_alert(session, order.id, kind):
            await raise_alert(session, order.id, status, kind, actor, now, {"at": "amend"})
    return order, diff
