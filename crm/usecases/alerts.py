"""Alerts about orders (rules §2, §3, §8): raised in the transaction that finds the reason,
audited on the order, pushed once to the supervisors' desks (`published_at`), acknowledged
by a supervisor with a note. The centre's own alerts (a trunk leg down, `centre_alerts`) have
no order: audited in the centre's trail (`admin_changes`, subject `alert`), listed, pushed and
acknowledged like the others.

Raising goes through SQLAlchemy Core on the caller's connection or session, so registration
(prepared statements, no ORM) and the lifecycle (ORM) raise alerts the same way.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from crm.db.exchange_models import OrderAlert
from crm.db.models import User, WorkOrder
from crm.db.prepared import DriverConnection
from crm.domain.centre_alerts import CENTRE_KINDS, centre_message, worth_raising
from crm.domain.emergency import EmergencyRules, alert_message, line_for
from crm.domain.enums import CENTRE_ROLES, AlertKind, Role, Status
from crm.domain.lifecycle import Actor
from crm.errors import Conflict, Denied, NotFound
from crm.repo import admin_changes, audit

ALERT_READERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
CENTRE_SUBJECT = "alert"  # admin_changes.subject of a centre alert's trail


async def raise_alert(
    db: AsyncSession | AsyncConnection,
    order_id: int,
    status: Status,
    kind: AlertKind,
    actor: Actor,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> int:
    """Store an alert (unpublished) and audit it on the order; its id. The caller commits."""
    detail = detail or {}
    alert_id: int = (
        await db.execute(
            insert(OrderAlert)
            .values(order_id=order_id, kind=kind, raised_at=now, detail=detail, note="")
            .returning(OrderAlert.id)
        )
    ).scalar_one()
    driver = await DriverConnection.of(db)
    entry = {"alert_id": alert_id, "kind": kind.value, **detail}
    await audit.append(driver, order_id, actor, "alert", status, status, now, entry)
    return alert_id


async def raise_centre_alert(
    session: AsyncSession,
    kind: AlertKind,
    subject: str,
    actor: Actor,
    now: datetime,
    detail: dict[str, Any],
) -> int | None:
    """Store a centre alert about `subject` (unpublished) and audit it in the centre's trail;
    its id, or None when not worth raising after the last one of its subject. The caller
    commits."""
    last = await session.scalar(
        select(OrderAlert.kind)
        .where(OrderAlert.subject == subject, OrderAlert.kind.in_(CENTRE_KINDS))
        .order_by(OrderAlert.id.desc())
        .limit(1)
    )
    if not worth_raising(kind, last):
        return None
    alert = OrderAlert(kind=kind, subject=subject, raised_at=now, detail=detail, note="")
    session.add(alert)
    await session.flush()
    entry = {"kind": kind.value, "subject": subject, **detail}
    await admin_changes.record(session, actor.user_id, now, CENTRE_SUBJECT, alert.id, "alert",
                               entry)  # fmt: skip
    return alert.id


async def has_alert(db: AsyncSession | AsyncConnection, order_id: int, kind: AlertKind) -> bool:
    found = await db.scalar(
        select(func.count())
        .select_from(OrderAlert)
        .where(OrderAlert.order_id == order_id, OrderAlert.kind == kind)
    )
    return bool(found)


@dataclass(frozen=True)
class AlertView:
    """An alert with what a supervisor's desk shows of its order (never the caller); a centre
    alert has none."""

    alert: OrderAlert
    order: WorkOrder | None

    def line(self) -> str:
        if self.order is None:
            return str(self.alert.detail.get("line", ""))
        return line_for(self.order.order_type, self.order.transfer_target).value

    def due_at(self) -> datetime | None:
        if self.order is None:
            return None
        if self.alert.kind is AlertKind.RESULT_OVERDUE:
            return self.order.result_due_at
        if self.alert.kind in (AlertKind.TRANSFER_WARNING, AlertKind.TRANSFER_ESCALATION):
            return self.order.transfer_due_at
        return None

    def message(self, rules: EmergencyRules) -> str:
        if self.order is None:
            return centre_message(self.alert.kind, self.alert.detail)
        line = line_for(self.order.order_type, self.order.transfer_target)
        return alert_message(self.alert.kind, self.order.number, self.order.severity, line, rules)


def _joined() -> Any:
    return select(OrderAlert, WorkOrder).outerjoin(WorkOrder, WorkOrder.id == OrderAlert.order_id)


async def unpublished(session: AsyncSession, limit: int = 100) -> list[AlertView]:
    """Alerts not yet pushed to the desks, oldest first."""
    rows = await session.execute(
        _joined().where(OrderAlert.published_at.is_(None)).order_by(OrderAlert.id).limit(limit)
    )
    return [AlertView(a, o) for a, o in rows.all()]


async def mark_published(session: AsyncSession, alert_id: int, now: datetime) -> None:
    await session.execute(
        update(OrderAlert)
        .where(OrderAlert.id == alert_id, OrderAlert.published_at.is_(None))
        .values(published_at=now)
    )


@dataclass(frozen=True)
class DutyLeader:
    """A configured duty leader who is an active centre user: the name the alerts show and
    the agent extension whose desk is also told (None: no desk)."""

    user_id: int
    name: str
    extension: str | None


@dataclass(frozen=True)
class DutyLeaders:
    """The configured ids looked up: the leaders found, in configured order, and the ids that
    are not an active centre user (left out; the caller logs them)."""

    found: tuple[DutyLeader, ...]
    missing: tuple[int, ...]

    def names(self) -> list[str]:
        return [leader.name for leader in self.found]


def _active_centre_user(ids: Sequence[int]) -> Any:
    return select(User.id, User.name, User.agent_extension).where(
        User.id.in_(ids), User.active.is_(True), User.role.in_(CENTRE_ROLES)
    )


async def duty_leaders(session: AsyncSession, rules: EmergencyRules) -> DutyLeaders:
    """The duty leaders of `[emergency].duty_leaders` (CRM user ids) as they are now."""
    if not rules.duty_leaders:
        return DutyLeaders((), ())
    rows = {
        row.id: DutyLeader(row.id, row.name, row.agent_extension)
        for row in await session.execute(_active_centre_user(rules.duty_leaders))
    }
    found = tuple(rows[i] for i in dict.fromkeys(rules.duty_leaders) if i in rows)
    missing = tuple(i for i in dict.fromkeys(rules.duty_leaders) if i not in rows)
    return DutyLeaders(found, missing)


async def check_reader(session: AsyncSession, actor: Actor, rules: EmergencyRules) -> None:
    """Supervisors and admins read alerts; so does a duty leader (an active centre user whose
    id is in `[emergency].duty_leaders`: ids, since names are not unique), whatever the role."""
    if actor.role in ALERT_READERS:
        return
    leader = actor.role in CENTRE_ROLES and actor.user_id in rules.duty_leaders
    if leader and await session.scalar(_active_centre_user([actor.user_id])) is not None:
        return
    raise Denied("role_forbidden", f"role {actor.role.value} may not read alerts")


async def list_alerts(
    session: AsyncSession,
    *,
    unacknowledged: bool,
    kind: AlertKind | None,
    order_id: int | None,
    limit: int,
) -> Sequence[AlertView]:
    """Newest first."""
    query = _joined().order_by(OrderAlert.id.desc()).limit(limit)
    if unacknowledged:
        query = query.where(OrderAlert.acknowledged_at.is_(None))
    if kind is not None:
        query = query.where(OrderAlert.kind == kind)
    if order_id is not None:
        query = query.where(OrderAlert.order_id == order_id)
    return [AlertView(a, o) for a, o in (await session.execute(query)).all()]


async def acknowledge(
    session: AsyncSession, alert_id: int, actor: Actor, note: str, now: datetime
) -> AlertView:
    """A supervisor took note of the alert (once); audited on its order, or in the centre's
    trail."""
    locked = _joined().where(OrderAlert.id == alert_id).with_for_update(of=OrderAlert)
    row = (await session.execute(locked)).first()
    if row is None:
        raise NotFound("alert_not_found", f"no alert {alert_id}")
    alert, order = row
    if alert.acknowledged_at is not None:
        raise Conflict("alert_acknowledged", f"alert {alert_id} is already acknowledged")
    alert.acknowledged_by, alert.acknowledged_at, alert.note = actor.user_id, now, note
    await session.flush()
    driver = await DriverConnection.of(session)
    detail = {"alert_id": alert_id, "kind": alert.kind.value, "note": note}
    if order is None:
        await admin_changes.record(session, actor.user_id, now, CENTRE_SUBJECT, alert_id,
                                   "alert_acknowledged", detail)  # fmt: skip
        return AlertView(alert, None)
    await audit.append(
        driver, order.id, actor, "alert_acknowledged", order.status, order.status, now, detail
    )
    return AlertView(alert, order)
