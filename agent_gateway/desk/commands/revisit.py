"""`revisit_call` and `revisit_result`: the agent calls a citizen back (回访) from an order.

The agent's own phone rings first; once answered it dials the citizen over the outbound trunk
(`telephony.actions.call_out`), recorded. The CRM (`crm.usecases.revisit`) decides whether
the order's callback step is due and this agent may take it, and links the call to the order
before anything rings; the call is placed inside that transaction, so a call Asterisk refused
leaves no open callback behind. The citizen's number goes to Asterisk only: never into a
result, a message or a log line. Only the agent who placed the call reports its result; the
report hangs the call up if it is still on, and is the order's callback step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from agent_gateway.desk.commands.verb import CommandFailed, Presences, Request, Result
from agent_gateway.desk.orders import DeskOrders
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.errors import CrmError
from crm.usecases import revisit as uc
from telephony.actions import RING_S, AmiActions, call_out, hang_up
from telephony.ami_connection import AmiActionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Revisits:
    """What the callback verbs use besides the AMI: the CRM, whether calls are recorded
    (`[recordings] enabled`: no file is expected otherwise) and the recording checker's wake."""

    orders: DeskOrders
    recorded: bool = True
    ring_s: float = RING_S
    recorded_call_ended: Callable[[], None] = lambda: None


def _actor(request: Request) -> Actor:
    return Actor(user_id=request.user_id, role=Role(request.role), unit_id=None)


async def revisit_call(
    ami: AmiActions, revisits: Revisits, presences: Presences, request: Request
) -> Result:
    ext = request.extension
    if presences[ext].call_id:
        raise CommandFailed("busy", "通话中不能发起回访")
    order_id = int(request.args["order_id"])
    orders = revisits.orders
    now = orders.clock()
    linkedid = uc.new_call_id(now)
    recording = uc.recording_of(linkedid, now) if revisits.recorded else ""
    try:
        async with orders.sessions() as session, session.begin():
            dialling = await uc.start(session, order_id, _actor(request), ext, linkedid, now)
            caller_id = f"回访 <{dialling.order_number}>"
            await call_out(ami, dialling.number, ext, linkedid, revisits.ring_s, caller_id,
                           recording)  # fmt: skip
    except CrmError as exc:
        raise CommandFailed(exc.code, exc.message) from None
    except ValueError:  # the order's number is no number to dial (said without it)
        raise CommandFailed("bad_number", "该工单的号码无法外呼") from None
    log.info("agent %s calls back order id %d (call %s)", ext, order_id, linkedid)
    return {"order_id": order_id, "call_id": linkedid}


async def revisit_result(ami: AmiActions, revisits: Revisits, request: Request) -> Result:
    args, orders = request.args, revisits.orders
    order_id, call_id = int(args["order_id"]), str(args["call_id"])
    try:
        report = uc.report_of(
            str(args["result"]), args.get("satisfaction"), call_id, str(args.get("note", ""))
        )
        async with orders.sessions() as session, session.begin():
            calendar = await orders.calendar.get(session)
            finished = await uc.finish(
                session, order_id, _actor(request), request.extension, report,
                orders.clock(), calendar, revisits.recorded,
                before=lambda: _hang_up(ami, call_id),
            )  # fmt: skip
    except CrmError as exc:
        raise CommandFailed(exc.code, exc.message) from None
    if report.answered and revisits.recorded:
        revisits.recorded_call_ended()
    result: Result = {"order_id": order_id, "call_id": call_id, "status": finished.status}
    if finished.refused:  # reached, but the order's step was taken meanwhile: an attempt
        result["refused"] = finished.refused
    return result


async def _hang_up(ami: AmiActions, call_id: str) -> None:
    """The agent's leg (its Uniqueid is the call's id), and so the citizen's, if still up."""
    try:
        await hang_up(ami, call_id)
    except AmiActionError as exc:
        log.debug("callback %s already over (%s)", call_id, exc)
