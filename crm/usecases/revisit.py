"""A call placed through the centre from an order: started, then its result reported.

The centre's call back (回访) from the desk, and the handling unit's first-contact and reply
calls from the API, differ only by their purpose (`crm.domain.revisit.RULES`). Starting
checks that the purpose's step is due and the caller may take it (the same decision as the
step itself), that nobody is calling the citizen for it already, and links a call record
(marked with the purpose's label, the phone's extension on it) to the order: the recording
checker attaches its file like any call's. Only that phone's user reports the result; the
report ends the record (with its recording when the citizen picked up) and is the order's
step (`Callback`, `LogContact`, `Reply`) when the citizen was reached, an attempt entry
otherwise. Every step is audited on the order. The citizen's number leaves here only to be
dialled.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord
from crm.db.models import OrderCall
from crm.db.prepared import DriverConnection
from crm.domain import lifecycle
from crm.domain.calendar import WorkCalendar
from crm.domain.call_progress import CallFacts, CallUpdate
from crm.domain.calls import CallOutcome
from crm.domain.enums import Satisfaction
from crm.domain.revisit import (
    RULES,
    BadReport,
    Purpose,
    RevisitReport,
    RevisitResult,
    purpose_of,
)
from crm.errors import Conflict, Denied, InvalidInput, NotFound
from crm.repo import audit
from crm.repo import orders as orders_repo
from crm.usecases import transition
from crm.usecases.call_records import record_progress


@dataclass(frozen=True)
class Dialling:
    """What the desk needs to place the call: the number (dialled, never shown) and the
    order's number (shown on the agent's phone)."""

    number: str
    order_number: str
    extension: str  # the phone rung first


def new_call_id(now: datetime) -> str:
    """A placed call's Linkedid (its first leg's Uniqueid), shaped like Asterisk's own
    (epoch.sequence, as recording names are) with a sequence far above Asterisk's counter."""
    return f"{int(now.replace(tzinfo=UTC).timestamp())}.{10**12 + secrets.randbelow(10**12)}"


def recording_of(linkedid: str, started_at: datetime) -> str:
    """The callback's recording file, relative to the recordings directory."""
    return f"{started_at:%Y%m%d}/{linkedid}.wav"


async def start(
    session: AsyncSession,
    order_id: int,
    actor: lifecycle.Actor,
    extension: str | None,
    linkedid: str,
    now: datetime,
    purpose: Purpose = Purpose.CALLBACK,
) -> Dialling:
    """Link the call about to be placed from `extension` (None: the user has no phone, told
    once it is known the step is theirs) to the order."""
    rules = RULES[purpose]
    order = await transition.load_visible(session, order_id, actor, for_update=True)
    with transition.refused():
        lifecycle.decide(transition.facts(order), actor, rules.action)
    if extension is None:
        raise Conflict(
            "no_phone", "您未绑定部门电话，无法通过中心外呼；电话联系后可直接记录联系情况"
        )
    if not order.caller_number:
        raise Conflict("no_number", f"该工单没有来电号码，无法{rules.word}")
    busy = await session.scalar(
        select(CallRecord.agent_extension)
        .join(OrderCall, OrderCall.linkedid == CallRecord.linkedid)
        .where(OrderCall.order_id == order.id, CallRecord.ivr_label == rules.label)
        .where(CallRecord.outcome == CallOutcome.IN_PROGRESS)
    )
    if busy is not None:
        raise Conflict("callback_busy", f"分机 {busy} 正在为该工单{rules.word}")
    facts = CallFacts(linkedid, now, ivr_label=rules.label, agent_extension=extension)
    await record_progress(session, [CallUpdate(facts)], now)
    await session.refresh(order, ["calls"])
    orders_repo.add_call(order, linkedid, "", now)
    detail = {"call_id": linkedid, "extension": extension}
    db = await DriverConnection.of(session)
    await audit.append(db, order.id, actor, rules.started, order.status, order.status, now, detail)
    await session.flush()
    return Dialling(order.caller_number, order.number, extension)


async def finish(
    session: AsyncSession,
    order_id: int,
    actor: lifecycle.Actor,
    extension: str | None,
    report: RevisitReport,
    now: datetime,
    calendar: WorkCalendar,
    recorded: bool,
    before: Callable[[], Awaitable[None]],
) -> str:
    """Store the result of a call placed from `extension` on the order (`recorded`: a file to
    expect when the citizen picked up); returns the order's status. `before` runs once the
    call is known to be this phone's and still open (the caller hangs the call up)."""
    order = await transition.load_visible(session, order_id, actor, for_update=True)
    record = await session.get(CallRecord, report.call_id)
    linked = await session.scalar(
        select(OrderCall.id).where(
            OrderCall.order_id == order.id, OrderCall.linkedid == report.call_id
        )
    )
    rules = report.rules
    if record is None or linked is None or record.ivr_label != rules.label:
        raise NotFound("no_callback", f"该工单没有这个{rules.word}通话（{report.call_id}）")
    if record.agent_extension != extension:
        raise Denied("not_your_callback", f"该{rules.word}通话不是您的电话发起的")
    if record.outcome is not CallOutcome.IN_PROGRESS:
        raise Conflict("callback_done", f"该{rules.word}通话的结果已记录")
    await before()
    step = report.step()
    if step is not None:
        order = await transition.apply_command(
            session, order.id, step, actor, now=now, calendar=calendar
        )
    else:
        db = await DriverConnection.of(session)
        await audit.append(
            db, order.id, actor, rules.attempt, order.status, order.status, now,
            report.attempt_detail(),
        )  # fmt: skip
    reason = f"{rules.word}: {report.result}"
    ended = CallFacts(
        record.linkedid, record.started_at, ended_at=now, end_reason=reason,
        outcome=CallOutcome.ANSWERED if report.answered else CallOutcome.FAILED,
    )  # fmt: skip
    expect = recorded and report.answered
    path = recording_of(record.linkedid, record.started_at) if expect else ""
    await record_progress(session, [CallUpdate(ended, recording=path)], now)
    return order.status.value


async def purpose_placed(session: AsyncSession, order_id: int, call_id: str) -> Purpose:
    """What the call `call_id` linked to the order was placed for (NotFound otherwise)."""
    label = await session.scalar(
        select(CallRecord.ivr_label)
        .join(OrderCall, OrderCall.linkedid == CallRecord.linkedid)
        .where(OrderCall.order_id == order_id, CallRecord.linkedid == call_id)
    )
    purpose = None if label is None else purpose_of(label)
    if purpose is None:
        raise NotFound("no_callback", f"该工单没有这个通话（{call_id}）")
    return purpose


def report_of(
    result: str,
    satisfaction: str | None,
    call_id: str,
    note: str,
    purpose: Purpose = Purpose.CALLBACK,
) -> RevisitReport:
    """The caller's words as a report, or InvalidInput saying what does not fit."""
    try:
        rated = None if satisfaction is None else Satisfaction(satisfaction)
        return RevisitReport(RevisitResult(result), rated, call_id, note, purpose)
    except BadReport as exc:
        field = "note" if exc.code == "note_required" else "satisfaction"
        raise InvalidInput(exc.code, exc.message, field) from None
    except ValueError as exc:
        raise InvalidInput("invalid_result", str(exc), "result") from None
