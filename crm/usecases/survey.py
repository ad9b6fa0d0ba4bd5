"""The caller's survey onto the call's order, whichever is stored first (crm.domain.survey
says which orders take it).

The answer reaches the call record through the call log while the caller is still on the
line; the order may be registered and answered at once (`answered`) before that, during the
call, or after it, in wrap-up. So both ends ask: the call log after storing an answer
(`surveys_onto_orders`), the order's transition to `answered` (`survey_onto_order`). Each
take is audited on the order, signed by the survey's system user.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord
from crm.db.models import OrderCall, WorkOrder
from crm.db.prepared import DriverConnection
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.domain.survey import (
    SURVEY_AUDIT_ACTION,
    SURVEY_USER,
    SurveyAnswer,
    order_takes_survey,
)
from crm.repo import audit
from crm.repo.directory import system_user


async def _take(
    session: AsyncSession,
    order: WorkOrder,
    linkedid: str,
    answer: SurveyAnswer | None,
    now: datetime,
) -> bool:
    satisfaction = order_takes_survey(order.status, order.satisfaction, answer)
    if satisfaction is None:
        return False
    order.satisfaction = satisfaction
    order.updated_at = now
    user = await system_user(session, SURVEY_USER)
    actor = Actor(user_id=user.id, role=Role.SUPERVISOR, unit_id=None)
    detail = {"satisfaction": satisfaction.value, "call_id": linkedid, "via": "ivr"}
    db = await DriverConnection.of(session)
    await audit.append(db, order.id, actor, SURVEY_AUDIT_ACTION, order.status, order.status,
                       now, detail)  # fmt: skip
    return True


async def surveys_onto_orders(
    session: AsyncSession, answers: Mapping[str, SurveyAnswer | None], now: datetime
) -> list[int]:
    """Calls (Linkedid → answer) just answered: their orders that take it get it. Returns
    the ids of the orders changed. The caller commits."""
    if not answers:
        return []
    rows = await session.execute(
        select(WorkOrder, OrderCall.linkedid)
        .join(OrderCall, OrderCall.order_id == WorkOrder.id)
        .where(OrderCall.linkedid.in_(answers))
        .with_for_update(of=WorkOrder)
    )
    return [
        order.id for order, linkedid in rows.all()
        if await _take(session, order, linkedid, answers[linkedid], now)
    ]  # fmt: skip


async def survey_onto_order(session: AsyncSession, order: WorkOrder, now: datetime) -> bool:
    """An order just answered at once: its call's survey, if already given, is its
    satisfaction (the newest call's, if it has several)."""
    linkedids = [link.linkedid for link in order.calls]
    if not linkedids:
        return False
    found = (
        await session.execute(
            select(CallRecord.linkedid, CallRecord.survey)
            .where(CallRecord.linkedid.in_(linkedids), CallRecord.survey.is_not(None))
            .order_by(CallRecord.started_at.desc())
            .limit(1)
        )
    ).first()
    return found is not None and await _take(session, order, found[0], found[1], now)
