"""`transfer`: send the agent's current call elsewhere (blind, the only mode of protocol v1).

Only while the call is in the queue's bridge: Asterisk's blind transfer of a leg in the
call-control rooms does not move the caller (use the warm transfer, `consult`, there)."""

from __future__ import annotations

from agent_gateway.desk.commands.verb import (
    Presences,
    Request,
    Result,
    current_call,
    require_applies,
)
from telephony.actions import AmiActions, blind_transfer
from telephony.call_control_service import CallControl
from telephony.tracker import CallTracker


async def transfer(
    ami: AmiActions,
    presences: Presences,
    tracker: CallTracker,
    context: str,
    control: CallControl,
    request: Request,
) -> Result:
    """Blind-transfer to `args.target`, dialled in the dialplan `context` agents dial from."""
    call = current_call(presences, tracker, request.extension)
    require_applies(control.state(call.linkedid), "transfer", "通话已在保持或转接中，请用一键转接")
    target = str(request.args["target"])
    await blind_transfer(ami, call.agent_channel, context, target)
    return {"call_id": call.linkedid, "target": target}
