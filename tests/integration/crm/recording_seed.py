"""Seeding for the recordings' upkeep tests: calls, orders and recording rows written as the
call log, the desk and the checker would leave them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord, Recording
from crm.db.models import OrderCall, WorkOrder
from crm.domain.calls import CallOutcome, Disposition, RecordingStatus
from crm.domain.enums import Channel, OrderType, Role, Severity, Status, Urgency
from crm.repo.directory import create_user

NOW = datetime(2026, 6, 1, 12, 0)


async def registrar(session: AsyncSession) -> int:
    user, _ = await create_user(session, "登记员", Role.AGENT, None, None)
    return user.id


def add_call(
    session: AsyncSession,
    linkedid: str,
    ended: datetime | None,
    *,
    answered: bool = True,
    disposition: Disposition | None = None,
    outcome: CallOutcome | None = None,
) -> CallRecord:
    started = (ended or NOW) - timedelta(minutes=5)
    call = CallRecord(
        linkedid=linkedid, caller_number="13900000001", started_at=started,
        answered_at=started + timedelta(seconds=20) if answered else None, ended_at=ended,
        outcome=outcome or (CallOutcome.ANSWERED if answered else CallOutcome.ABANDONED),
        agent_extension="1001" if answered else "", disposition=disposition,
        disposed_at=ended if disposition else None, updated_at=ended or NOW,
    )  # fmt: skip
    session.add(call)
    return call


def add_order(
    session: AsyncSession, user_id: int, number: str, linkedid: str, status: Status,
    closed_at: datetime | None,
) -> WorkOrder:  # fmt: skip
    registered = NOW - timedelta(days=400)
    order = WorkOrder(
        number=number, channel=Channel.PHONE, text="路灯不亮", order_type=OrderType.REPORT,
        urgency=Urgency.NORMAL, severity=Severity.GENERAL, status=status,
        registered_by=user_id, registered_at=registered, updated_at=closed_at or registered,
        closed_at=closed_at, limit_start=date(2025, 4, 1),
    )  # fmt: skip
    order.calls = [OrderCall(linkedid=linkedid, attached_at=registered)]
    session.add(order)
    return order


def add_recording(
    session: AsyncSession,
    linkedid: str,
    path: str,
    sha256: str,
    checked_at: datetime,
    status: RecordingStatus = RecordingStatus.ATTACHED,
) -> Recording:
    row = Recording(
        linkedid=linkedid, part=1, path=path, status=status, format=path.rsplit(".", 1)[1],
        sha256=sha256, created_at=checked_at, checked_at=checked_at,
    )  # fmt: skip
    session.add(row)
    return row
