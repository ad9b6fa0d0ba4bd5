"""The call-control verbs: hold, resume, mute, unmute, consult (warm transfer, 一键转接),
consult_complete, consult_cancel, three_way and leave, over the control adapter
(`telephony.call_control_service.CallControl`).

Each acts on the call the agent talks on at its own desk and answers only once Asterisk's
events confirmed it (the adapter waits for them): the result carries the call's control state
as desktops see it; a refusal or a failure (busy, no answer, both trunks down, not confirmed
in time) is a `CommandFailed` with the adapter's code and its reason in Chinese (the English
one is logged). Later steps of a consult (answered, failed) reach the desktops as call
updates.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from agent_gateway.desk.commands.verb import (
    CommandFailed,
    Presences,
    Request,
    Result,
    current_call,
)
from agent_gateway.desk.control_failures import failure_text
from agent_gateway.desk.control_view import control_info
from agent_gateway.desk.service import DeskService
from telephony.call import Call
from telephony.call_control import ControlState
from telephony.call_control_service import CallControl
from telephony.control_store import ControlFailed
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

Step = Callable[[CallControl, Call, Request], Awaitable[ControlState]]


async def _hold(control: CallControl, call: Call, request: Request) -> ControlState:
    return await control.hold(call)


async def _resume(control: CallControl, call: Call, request: Request) -> ControlState:
    return await control.resume(call)


async def _mute(control: CallControl, call: Call, request: Request) -> ControlState:
    return await control.mute(call, True)


async def _unmute(control: CallControl, call: Call, request: Request) -> ControlState:
    return await control.mute(call, False)


async def _consult(control: CallControl, call: Call, request: Request) -> ControlState:
    target = str(request.args["target"])
    return await control.consult(call, target, str(request.args.get("mode", "hold")))


async def _complete(control: CallControl, call: Call, request: Request) -> ControlState:
    return await control.complete(call)


async def _cancel(control: CallControl, call: Call, request: Request) -> ControlState:
    return await control.cancel(call)


async def _three_way(control: CallControl, call: Call, request: Request) -> ControlState:
    return await control.three_way(call)


async def _leave(control: CallControl, call: Call, request: Request) -> ControlState:
    return await control.leave(call)


STEPS: dict[str, Step] = {
    "hold": _hold,
    "resume": _resume,
    "mute": _mute,
    "unmute": _unmute,
    "consult": _consult,
    "consult_complete": _complete,
    "consult_cancel": _cancel,
    "three_way": _three_way,
    "leave": _leave,
}


async def control_step(
    control: CallControl,
    desk: DeskService,
    presences: Presences,
    tracker: CallTracker,
    name: str,
    request: Request,
) -> Result:
    """Carry out the control command `name` on the agent's current call."""
    call = current_call(presences, tracker, request.extension)
    try:
        state = await STEPS[name](control, call, request)
    except ControlFailed as exc:
        log.info("control %s on %s at %s failed: %s", name, call.linkedid, request.extension, exc)
        target = str(request.args.get("target", "")) if name == "consult" else ""
        raise CommandFailed(exc.code.value, failure_text(exc.code, exc.message, target)) from None
    now = tracker.get(call.linkedid) or call
    info: dict[str, Any] = control_info(
        state, now, desk.control.emergency_started.get(call.linkedid)
    ).model_dump(mode="json")
    return {"call_id": call.linkedid, "control": info}
