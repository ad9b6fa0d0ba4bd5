"""Applying a command to an existing order: check it, change the order, audit it.

The lifecycle table decides whether the command is allowed; this module only carries out its
consequences (dates, units, outcome fields) and writes the audit entry in the same transaction,
so a refused command changes nothing and an accepted one is always traced.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import OrderUnit, SupervisionNotice, WorkOrder
from crm.db.prepared import DriverConnection
from crm.domain import commands as c
from crm.domain import deadlines, lifecycle
from crm.domain.calendar import WorkCalendar
from crm.domain.clock import local_date
from crm.domain.emergency import DEFAULT_RULES, EMERGENCY_LINES, EmergencyRules, line_for
from crm.domain.enums import Action, AlertKind, Role, Status, UnitKind, UnitRole
from crm.errors import Conflict, Denied, InvalidInput, NotFound
from crm.repo import audit, directory, orders
from crm.usecases import exchange_outbox, survey
from crm.usecases.alerts import raise_alert
from crm.usecases.register import RegisteredOrder


@contextmanager
def refused() -> Iterator[None]:
    """The lifecycle's refusals as the CRM's errors: 403 for who, 409 for when."""
    try:
        yield
    except lifecycle.Forbidden as exc:
        raise Denied(exc.code, exc.message) from exc
    except lifecycle.IllegalTransition as exc:
        raise Conflict(exc.code, exc.message) from exc


def facts(order: WorkOrder | RegisteredOrder) -> lifecycle.OrderFacts:
    return lifecycle.OrderFacts(
        status=order.status,
        order_type=order.order_type,
        lead_unit_id=order.lead_unit_id,
        extension_pending=order.extension_requested_days is not None,
        stability_clue=order.stability_clue,
        handed_over=order.handed_over_at is not None,
    )


def visibility_unit(actor: lifecycle.Actor) -> int | None:
    """Unit whose orders a handler may see; None means the centre, which sees all."""
    if actor.role is Role.HANDLER:
        return actor.unit_id if actor.unit_id is not None else -1
    return None


async def load_visible(
    session: AsyncSession, order_id: int, actor: lifecycle.Actor, *, for_update: bool = False
) -> WorkOrder:
    """The order if the actor may see it; otherwise 404, so other units learn nothing of it."""
    order = await orders.get_order(
        session, order_id, visible_to_unit=visibility_unit(actor), for_update=for_update
    )
    if order is None:
        raise NotFound("order_not_found", f"no order {order_id}")
    return order


async def _check_units(session: AsyncSession, command: c.Dispatch) -> None:
    for field, unit_id in [("lead_unit_id", command.lead_unit_id)] + [
        ("assist_unit_ids", u) for u in command.assist_unit_ids
    ]:
        unit = await directory.get_unit(session, unit_id)
        if unit is None or not unit.active:
            raise InvalidInput("unknown_unit", f"no active unit {unit_id}", field)
        if field == "assist_unit_ids" and unit.kind is UnitKind.CENTRE:
            raise InvalidInput("centre_cannot_assist", "the centre is not an assisting unit", field)
    if command.lead_unit_id in command.assist_unit_ids:
        raise InvalidInput(
            "lead_also_assists", "the lead unit cannot also assist", "assist_unit_ids"
        )


def recompute_due(order: WorkOrder, calendar: WorkCalendar) -> None:
    """The due date from the intake day, the type, urgency and granted extension days."""
    due = deadlines.due_date(
        order.limit_start,
        order.order_type,
        order.urgency,
        calendar,
        extension_days=order.extension_days,
        statutory_days=order.statutory_days,
    )
    order.due_date = due.day if due else None
    order.due_provisional = due.provisional if due else False


def _policy(order: WorkOrder) -> deadlines.LimitPolicy | None:
    return deadlines.policy_for(order.order_type, order.urgency, order.statutory_days)


async def _carry_out(
    session: AsyncSession,
    order: WorkOrder,
    command: c.Command,
    actor: lifecycle.Actor,
    now: datetime,
    calendar: WorkCalendar,
    rules: EmergencyRules,
) -> dict[str, Any]:
    """Change the order for an allowed command; returns what the audit entry records."""
    match command:
        case c.Dispatch(lead_unit_id=lead, assist_unit_ids=assists, note=note):
            await _check_units(session, command)
            if order.status is Status.REOPENED:
                # rework is a new round: a fresh limit from today, extensions start over
                order.rework_count += 1
                order.limit_start = local_date(now)
                order.extension_days = 0
                order.extensions_granted = 0
                recompute_due(order, calendar)
            order.lead_unit_id = lead
            order.assists = [
                OrderUnit(unit_id=u, unit_role=UnitRole.ASSIST) for u in dict.fromkeys(assists)
            ]
            return {"lead_unit_id": lead, "assist_unit_ids": list(assists), "note": note}
        case c.Accept(note=note):
            return {"note": note}
        case c.Return(reason=reason):
            return {"reason": reason, "unit_id": order.lead_unit_id}
        case c.LogContact(note=note, call_id=call_id):
            return {"note": note} | ({"call_id": call_id} if call_id else {})
        case c.Reply(result=result, call_id=call_id):
            order.result = result
            return {"result": result} | ({"call_id": call_id} if call_id else {})
        case c.Callback(satisfaction=satisfaction, note=note, call_id=call_id):
            order.satisfaction = satisfaction
            if command.action is Action.CALLBACK:
                order.closed_at = now
            return {"satisfaction": satisfaction.value, "note": note} | (
                {"call_id": call_id} if call_id else {}
            )
        case c.Reopen(reason=reason):
            order.closed_at = None
            return {"reason": reason}
        case c.NotAccept(reason=reason, explanation=explanation):
            with refused():
                lifecycle.check_not_accept_reason(reason)
            order.not_accepted_reason = reason
            order.closed_at = now
            order.due_date = None
            return {"reason": reason.value, "explanation": explanation}
        case c.AnswerNow(answer=answer, knowledge_ref=ref):
            order.result = answer
            order.closed_at = now
            order.due_date = None
            return {"answer": answer, "knowledge_ref": ref}
        case c.Transfer(target=target, note=note):
            order.transfer_target = target
            order.transferred_at = now
            order.due_date = None
            if order.transfer_due_at is None and target in EMERGENCY_LINES:
                # a matter found to be an emergency: on the clock from intake, like one typed so
                order.transfer_due_at = deadlines.transfer_due_at(order.registered_at)
            late = order.transfer_due_at is not None and now > order.transfer_due_at
            return {"target": target.value, "late": late, "note": note}
        case c.TransferFeedback(result=result):
            order.result = result
            order.closed_at = now
            return {"result": result}
        case c.HandoverAccepted(incident_number=incident, note=note):
            if order.handover_confirmed_by == "peer":
                raise Conflict("already_accepted", "the receiving centre already accepted it")
            if order.handed_over_at is None:  # a supervisor's earlier decision keeps its time
                order.handed_over_at = now
            order.handover_confirmed_by = "peer"
            order.result_due_at = now + rules.result_due
            return {"incident_number": incident, "note": note, "late": _late(order)}
        case c.HandoverRejected(reason=reason):
            was = order.transfer_target
            order.transfer_target = None
            order.transferred_at = None
            await raise_alert(
                session, order.id, order.status, AlertKind.HANDOVER_REJECTED, actor, now,
                {"reason": reason, "line": line_for(order.order_type, was).value},
            )  # fmt: skip
            return {"reason": reason, "target": was.value if was else None}
        case c.HandoverDecision(note=note):
            if not note.strip():
                raise InvalidInput("note_required", "a supervisor's decision records why", "note")
            order.handed_over_at = now
            order.handover_confirmed_by = "supervisor"
            order.result_due_at = now + rules.result_due
            return {"note": note, "late": _late(order)}
        case c.RequestExtension(days=days, reason=reason):
            _grant(order, days)  # refuse at once what could never be approved
            order.extension_requested_days = days
            return {"days": days, "reason": reason}
        case c.DecideExtension(approve=approve, note=note):
            days = order.extension_requested_days or 0
            if approve:
                order.extension_days += _grant(order, days)
                order.extensions_granted += 1
                recompute_due(order, calendar)
            order.extension_requested_days = None
            return {"approve": approve, "days": days, "note": note, "due_date": _iso(order)}
        case c.Supervise(note=note):
            session.add(
                SupervisionNotice(
                    order_id=order.id,
                    unit_id=order.lead_unit_id,
                    issued_at=now,
                    issued_by=actor.user_id,
                    due_date=order.due_date,
                    note=note,
                )
            )
            return {"note": note, "unit_id": order.lead_unit_id, "due_date": _iso(order)}
    raise TypeError(f"unhandled command {command!r}")


def _late(order: WorkOrder) -> bool:
    """Confirmed after the 10-minute limit (the figures count it late)."""
    due, done = order.transfer_due_at, order.handed_over_at
    return due is not None and done is not None and done > due


def _iso(order: WorkOrder) -> str | None:
    return order.due_date.isoformat() if order.due_date else None


def _grant(order: WorkOrder, days: int) -> int:
    try:
        return deadlines.grant_extension(
            _policy(order), order.extensions_granted, order.extension_days, days
        )
    except deadlines.ExtensionRefused as exc:
        raise Conflict("extension_refused", exc.message) from exc


async def apply_command(
    session: AsyncSession,
    order_id: int,
    command: c.Command,
    actor: lifecycle.Actor,
    *,
    now: datetime,
    calendar: WorkCalendar,
    rules: EmergencyRules = DEFAULT_RULES,
) -> WorkOrder:
    """Check and carry out one command; raises without touching the order if refused.
    `rules` (the `[emergency]` settings) time the result due after a confirmed hand-over."""
    order = await load_visible(session, order_id, actor, for_update=True)
    action = command.action
    with refused():
        target = lifecycle.decide(facts(order), actor, action)
    source = order.status
    detail = await _carry_out(session, order, command, actor, now, calendar, rules)
    order.status = target
    order.updated_at = now
    transfer = command.target if isinstance(command, c.Transfer) else None
    await exchange_outbox.after_transition(session, order, transfer, source, now)
    db = await DriverConnection.of(session)
    await audit.append(db, order.id, actor, action.value, source, target, now, detail)
    if target is Status.ANSWERED:
        await survey.survey_onto_order(session, order, now)  # the caller may have rated it
    await session.flush()
    return order
