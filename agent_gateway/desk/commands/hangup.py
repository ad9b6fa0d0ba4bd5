"""`hangup`: end the agent's current call."""

from __future__ import annotations

from agent_gateway.desk.commands.verb import Presences, Request, Result, current_call
from telephony.actions import AmiActions, hang_up
from telephony.tracker import CallTracker


async def hangup(
    ami: AmiActions, presences: Presences, tracker: CallTracker, request: Request
) -> Result:
    call = current_call(presences, tracker, request.extension)
    await hang_up(ami, call.agent_channel)
    return {"call_id": call.linkedid}
