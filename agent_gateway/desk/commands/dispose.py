"""`dispose`: the outcome of an answered call that needs no work order, chosen at its desk."""

from __future__ import annotations

from collections.abc import Callable

from agent_gateway.desk.commands.verb import (
    CommandFailed,
    Presences,
    Request,
    Result,
    answered_here,
)
from agent_gateway.desk.orders import CallRefused, DeskOrders
from telephony.tracker import CallTracker


async def dispose(
    orders: DeskOrders,
    presences: Presences,
    tracker: CallTracker,
    request: Request,
    emergency: Callable[[str], bool],
) -> Result:
    """Only the agent who answered the call, at its own desk; refused for a call that has a
    work order already (`has_order`: the order is its outcome) and for an emergency call
    (`emergency_needs_order`; `emergency(linkedid)`: the desk saw it consult 110/119/120,
    perhaps before the call log stored that)."""
    ext, args = request.extension, request.args
    call_id = str(args["call_id"])
    call = answered_here(presences, tracker, ext, call_id)
    try:
        return await orders.dispose(
            request.user_id, request.role, ext, call_id, str(args["disposition"]),
            str(args.get("note") or ""), None if call is None else call.started_at,
            emergency(call_id),
        )  # fmt: skip
    except CallRefused as exc:
        raise CommandFailed(exc.code, exc.message) from None
