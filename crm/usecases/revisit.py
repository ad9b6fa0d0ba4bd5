"""The centre's call back (回访) placed from the desk: started, then its result reported.

Starting checks that the order's callback step is due and the agent may take it (the same
decision as the step itself), that nobody is calling the citizen already, and links a call
record (marked `CALL_LABEL`, the agent's extension on it) to the order: the recording
checker attaches its file like any call's. Only that agent reports the result; the report
ends the record (with its recording when the citizen picked up) and is the order's step:
`Callback` when reached with a satisfaction, a `callback_attempt` entry otherwise. Every step
is audited on the order. The citizen's number leaves here only to be dialled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord
from crm.db.models import OrderCall
from crm.db.prepared import DriverConnection
from crm.domain import lifecycle
from crm.domain.calendar import WorkCalendar
from crm.domain.call_progress import CallFacts, CallUpdate
from crm.domain.calls import CallOutcome
from crm.domain.enums import Action, Satisfaction
from crm.domain.revisit import (
    ATTEMPT_ACTION,
    CALL_LABEL,
    BadReport,
    RevisitReport,
    RevisitResult,
)
from crm.errors import Conflict, Denied, InvalidInput, NotFound
from crm.repo import audit
from crm.repo import orders as orders_repo
from crm.usecases import transition
from crm.usecases.call_records import record_progress

STARTED_ACTION = "callback_started"


@dataclass(frozen=True)
class Dialling:
    """What the desk needs to place the call: the number (dialled, never shown) and the
    order's number (shown on the agent's phone)."""

    number: str
    order_number: str


def recording_of(linkedid: str, started_at: datetime) -> str:
    """The callback's recording file, relative to the recordings directory."""
    return f"{started_at:%Y%m%d}/{linkedid}.wav"


async def start(
    session: AsyncSession,
    order_id: int,
    actor: lifecycle.Actor,
    extension: str,
    linkedid: str,
    now: datetime,
) -> Dialling:
    order = await transition.load_visible(session, order_id, actor, for_update=True)
    with transition.refused():
        lifecycle.decide(transition.facts(order), actor, Action.CALLBACK)
    if not order.caller_number:
        raise Conflict("no_number", "该工单没有来电号码，无法回访")
    busy = await session.scalar(
        select(CallRecord.agent_extension)
        .join(OrderCall, OrderCall.linkedid == CallRecord.linkedid)
        .where(OrderCall.order_id == order.id, CallRecord.ivr_label == CALL_LABEL)
        .where(CallRecord.outcome == CallOutcome.IN_PROGRESS)
    )
    if busy is not None:
        raise Conflict("callback_busy", f"坐席 {busy} 正在回访该工单")
    facts = CallFacts(linkedid, now, ivr_label=CALL_LABEL, agent_extension=extension)
    await record_progress(session, [CallUpdate(facts)], now)
    await session.refresh(order, ["calls"])
    orders_repo.add_call(order, linkedid, "", now)
    detail = {"call_id": linkedid, "extension": extension}
    db = await DriverConnection.of(session)
    await audit.append(db, order.id, actor, STARTED_ACTION, order.status, order.status, now, detail)
    await session.flush()
    return Dialling(order.caller_number, order.number)


async def finish(
    session: AsyncSession,
    order_id: int,
    actor: lifecycle.Actor,
    extension: str,
    report: RevisitReport,
    now: datetime,
    calendar: WorkCalendar,
    recorded: bool,
    before: Callable[[], Awaitable[None]],
) -> str:
    """Store the result of the agent's own callback on the order (`recorded`: a file to
    expect when the citizen picked up); returns the order's status. `before` runs once the
    callback is known to be this agent's and still open (the desk hangs the call up)."""
    order = await transition.load_visible(session, order_id, actor, for_update=True)
    record = await session.get(CallRecord, report.call_id)
    linked = await session.scalar(
        select(OrderCall.id).where(
            OrderCall.order_id == order.id, OrderCall.linkedid == report.call_id
        )
    )
    if record is None or linked is None or record.ivr_label != CALL_LABEL:
        raise NotFound("no_callback", f"该工单没有这个回访通话（{report.call_id}）")
    if record.agent_extension != extension:
        raise Denied("not_your_callback", "该回访不是您的坐席发起的")
    if record.outcome is not CallOutcome.IN_PROGRESS:
        raise Conflict("callback_done", "该回访的结果已记录")
    await before()
    step = report.step()
    if step is not None:
        order = await transition.apply_command(
            session, order.id, step, actor, now=now, calendar=calendar
        )
    else:
        db = await DriverConnection.of(session)
        await audit.append(
            db, order.id, actor, ATTEMPT_ACTION, order.status, order.status, now,
            report.attempt_detail(),
        )  # fmt: skip
    ended = CallFacts(
        record.linkedid, record.started_at, ended_at=now, end_reason=f"回访: {report.result}",
        outcome=CallOutcome.ANSWERED if report.answered else CallOutcome.FAILED,
    )  # fmt: skip
    expect = recorded and report.answered
    path = recording_of(record.linkedid, record.started_at) if expect else ""
    await record_progress(session, [CallUpdate(ended, recording=path)], now)
    return order.status.value


def report_of(result: str, satisfaction: str | None, call_id: str, note: str) -> RevisitReport:
    """The desk's words as a report, or InvalidInput saying what does not fit."""
    try:
        rated = None if satisfaction is None else Satisfaction(satisfaction)
        return RevisitReport(RevisitResult(result), rated, call_id, note)
    except BadReport as exc:
        raise InvalidInput(exc.code, exc.message, "satisfaction") from None
    except ValueError as exc:
        raise InvalidInput("invalid_result", str(exc), "result") from None
