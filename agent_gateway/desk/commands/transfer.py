"""`transfer`: send the agent's current call elsewhere (blind, the only mode of protocol v1)."""

from __future__ import annotations

from agent_gateway.desk.commands.verb import Presences, Request, Result, current_call
from telephony.actions import AmiActions, blind_transfer
from telephony.tracker import CallTracker


async def transfer(
    ami: AmiActions,
    presences: Presences,
    tracker: CallTracker,
    context: str,
    request: Request,
) -> Result:
    """Blind-transfer to `args.target`, dialled in the dialplan `context` agents dial from."""
    call = current_call(presences, tracker, request.extension)
    target = str(request.args["target"])
    await blind_transfer(ami, call.agent_channel, context, target)
    return {"call_id": call.linkedid, "target": target}
