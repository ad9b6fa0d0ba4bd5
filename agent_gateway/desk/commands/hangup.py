"""`hangup`: end the agent's current call (not while a consult of it is live: the caller
would be dropped with it; complete or cancel the consult first)."""

from __future__ import annotations

from agent_gateway.desk.commands.verb import (
    Presences,
    Request,
    Result,
    current_call,
    require_applies,
)
from telephony.actions import AmiActions, hang_up
from telephony.call_control_service import CallControl
from telephony.tracker import CallTracker


async def hangup(
    ami: AmiActions,
    presences: Presences,
    tracker: CallTracker,
    control: CallControl,
    request: Request,
) -> Result:
    call = current_call(presences, tracker, request.extension)
    require_applies(control.state(call.linkedid), "hangup", "转接进行中，请先完成或取消转接")
    await hang_up(ami, control.agent_leg(call))  # the leg of whoever has the call now
    return {"call_id": call.linkedid}
