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

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord
from crm.db.models import OrderCall, WorkOrder
from crm.db.prepared import DriverConnection
from crm.domain import lifecycle
from crm.domain.calendar import WorkCalendar
from crm.domain.call_progress import CallFacts, CallUpdate
from crm.domain.calls import CallOutcome
from crm.domain.enums import Role, Satisfaction
from crm.domain.revisit import (
    CALL_LABELS,
    OPEN_AT_MOST,
    RULES,
    BadReport,
    Purpose,
    PurposeRules,
    RevisitReport,
    RevisitResult,
    purpose_of,
)
from crm.errors import Conflict, Denied, InvalidInput, NotFound
from crm.repo import audit, directory
from crm.repo import orders as orders_repo
from crm.usecases import transition
from crm.usecases.call_records import record_progress

log = logging.getLogger(__name__)


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
    await _check_free(session, order.id, rules, extension, now)
    facts = CallFacts(linkedid, now, ivr_label=rules.label, agent_extension=extension)
    await record_progress(session, [CallUpdate(facts)], now)
    await session.refresh(order, ["calls"])
    orders_repo.add_call(order, linkedid, "", now)
    detail = {"call_id": linkedid, "extension": extension}
    db = await DriverConnection.of(session)
    await audit.append(db, order.id, actor, rules.started, order.status, order.status, now, detail)
    await session.flush()
    return Dialling(order.caller_number, order.number, extension)


async def _check_free(
    session: AsyncSession, order_id: int, rules: PurposeRules, extension: str, now: datetime
) -> None:
    """Nobody calls the citizen for this step already, and the phone places no other call
    (a record open longer than a call can last was never reported: it holds nothing)."""
    still_open = (CallRecord.outcome == CallOutcome.IN_PROGRESS) & (
        CallRecord.started_at > now - OPEN_AT_MOST
    )
    busy = await session.scalar(
        select(CallRecord.agent_extension)
        .join(OrderCall, OrderCall.linkedid == CallRecord.linkedid)
        .where(OrderCall.order_id == order_id, CallRecord.ivr_label == rules.label, still_open)
        .limit(1)
    )
    if busy is not None:
        raise Conflict("callback_busy", f"分机 {busy} 正在为该工单{rules.word}")
    placing = await session.scalar(
        select(CallRecord.linkedid)
        .where(CallRecord.agent_extension == extension, CallRecord.ivr_label.in_(CALL_LABELS))
        .where(still_open)
        .limit(1)
    )
    if placing is not None:
        raise Conflict("phone_busy", f"分机 {extension} 正在进行另一通外呼（{placing}）")


@dataclass(frozen=True)
class Finished:
    """The order's status after the result; `refused`: why a reached call was stored as an
    attempt (its step was taken by other means meanwhile), "" when it was the step."""

    status: str
    refused: str = ""


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
) -> Finished:
    """Store the result of a call placed from `extension` on the order (`recorded`: a file to
    expect when the citizen picked up). `before` runs once the call is known to be this
    phone's (or a stale one the actor may close), still open, and what its result is on the
    order (the caller hangs the call up); nothing after it refuses."""
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
        await _check_closer(session, order, actor, record, report, now)
    if record.outcome is not CallOutcome.IN_PROGRESS:
        raise Conflict("callback_done", f"该{rules.word}通话的结果已记录")
    step, refused = report.step(), ""
    if step is not None:
        try:  # decided before hanging up: a refused step still ends the call, as an attempt
            lifecycle.decide(transition.facts(order), actor, step.action)
        except lifecycle.TransitionError as exc:
            step, refused = None, f"{rules.word}步骤已无法记录（{exc.message}），本次通话记为尝试"
            log.info("call %s of order id %d reached, its step refused (%s): an attempt",
                     report.call_id, order.id, exc.code)  # fmt: skip
    await before()
    if step is not None:
        order = await transition.apply_command(
            session, order.id, step, actor, now=now, calendar=calendar
        )
    else:
        detail = report.attempt_detail() | ({"refused": refused} if refused else {})
        if record.agent_extension != extension:
            detail["closed_for"] = record.agent_extension or ""
        db = await DriverConnection.of(session)
        await audit.append(
            db, order.id, actor, rules.attempt, order.status, order.status, now, detail
        )
    reason = f"{rules.word}: {report.result}"
    ended = CallFacts(
        record.linkedid, record.started_at, ended_at=now, end_reason=reason,
        outcome=CallOutcome.ANSWERED if report.answered else CallOutcome.FAILED,
    )  # fmt: skip
    expect = recorded and report.answered
    path = recording_of(record.linkedid, record.started_at) if expect else ""
    await record_progress(session, [CallUpdate(ended, recording=path)], now)
    return Finished(order.status.value, refused)


async def _check_closer(
    session: AsyncSession,
    order: WorkOrder,
    actor: lifecycle.Actor,
    record: CallRecord,
    report: RevisitReport,
    now: datetime,
) -> None:
    """Someone other than the phone that placed the call may only close it as not reached,
    once it is stale (older than a call lasts, or its phone bound to nobody now), and only a
    supervisor or a handler of the order's lead unit."""
    word = report.rules.word
    lead = actor.role is Role.HANDLER and actor.unit_id == order.lead_unit_id
    stale = record.started_at <= now - OPEN_AT_MOST or (
        await directory.active_user_at(session, record.agent_extension or "") is None
    )
    if not stale or report.answered or not (lead or actor.role is Role.SUPERVISOR):
        raise Denied("not_your_callback", f"该{word}通话不是您的电话发起的")


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
