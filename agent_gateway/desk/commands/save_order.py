"""`save_order`: register (or amend) the work order of a call answered at this desk."""

from __future__ import annotations

from collections.abc import Callable

from agent_gateway.desk.commands.verb import CommandFailed, Presences, Request, Result
from agent_gateway.desk.orders import DeskOrders, OrderRejected
from telephony.dialplan import interface_of
from telephony.tracker import CallTracker


async def save_order(
    orders: DeskOrders,
    presences: Presences,
    tracker: CallTracker,
    request: Request,
    emergency_line: Callable[[str], str | None] = lambda linkedid: None,
    saved: Callable[[str, float | None], None] = lambda linkedid, due: None,
) -> Result:
    """The order of `order.call_id`, or of the agent's current call; an emergency order of a
    call on which the agent reached 110/119/120 (`emergency_line`) is transferred to it.
    `saved(linkedid, transfer_due_at)` is told of it (the desktops show its clock)."""
    ext = request.extension
    form = dict(request.args.get("order") or {})
    call_id = form.get("call_id") or presences[ext].call_id
    call = tracker.get(str(call_id)) if call_id else None
    if call is None:
        raise CommandFailed("no_call", "no call to attach the order to (give call_id)")
    if interface_of(ext) not in (call.agent_interface, call.outcome_owner):  # or took it over
        raise CommandFailed("not_your_call", "this call was not answered at your desk")
    try:
        line = emergency_line(call.linkedid)
        result = await orders.save(request.user_id, request.role, form, call, line)
    except OrderRejected as exc:
        raise CommandFailed("invalid_order", str(exc)) from None
    saved(call.linkedid, result.get("transfer_due_at"))
    return result
