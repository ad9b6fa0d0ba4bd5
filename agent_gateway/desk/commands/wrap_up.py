"""`wrapup_done`: the agent ends its wrap-up early and is available again.

No answered call without an outcome: refused (`outcome_required`) while the call being
wrapped up has neither a work order nor a disposition, if this agent is the one to give it
(a call blind-transferred to another agent gets its outcome from the one who took it). A
wrap-up that reaches the desk's `max_wrapup_s` ends by itself all the same (nobody is held
forever); reconciliation then lists the call as answered without an outcome.
"""

from __future__ import annotations

from agent_gateway.desk.commands.verb import CommandFailed, Request, Result
from agent_gateway.desk.orders import DeskOrders
from agent_gateway.desk.presence import IllegalTransition, WrapUpDone
from agent_gateway.desk.service import DeskService
from agent_gateway.edge.protocol import PresenceState
from telephony.dialplan import interface_of
from telephony.tracker import CallTracker

OUTCOME_REQUIRED = "请先保存工单或选择处理结果（如当场解答、打错电话），再结束话后处理"


async def wrapup_done(
    desk: DeskService, orders: DeskOrders, tracker: CallTracker, request: Request
) -> Result:
    ext = request.extension
    presence = desk.presences[ext]
    if presence.state is PresenceState.WRAP_UP and presence.call_id:
        call = tracker.get(presence.call_id)
        ours = call is None or call.outcome_owner == interface_of(ext)
        if ours and await orders.outcome(presence.call_id) is None:
            raise CommandFailed("outcome_required", OUTCOME_REQUIRED)
    try:
        await desk.apply_command_input(ext, WrapUpDone())
    except IllegalTransition:
        raise CommandFailed("not_in_wrap_up", "no call to wrap up") from None
    return {}
