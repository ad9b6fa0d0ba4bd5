"""`recording_pause` and `recording_resume`: the agent mutes the call's recording while the
caller reads out what must not be kept (a bank card number), and lets it record again.

Asterisk mutes the MixMonitor on the caller's channel (both directions: the file gets digital
silence of the pause's length); each change is then an event on the call in the CRM, and the
desktops' call update says whether the recording is paused. Pausing a paused recording sends
the mute again (harmless, and repairs an Asterisk that disagrees) but records no second event;
resuming one that is not paused is refused (`not_paused`). If the event cannot be stored the
mute is undone, so the recording and the call's record never disagree.
"""

from __future__ import annotations

import logging

from agent_gateway.desk.commands.verb import (
    CommandFailed,
    Presences,
    Request,
    Result,
    answered_here,
)
from agent_gateway.desk.orders import CallRefused, DeskOrders
from agent_gateway.desk.service import DeskService
from telephony.actions import AmiActions, mute_recording
from telephony.call import CONNECTED, Call
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)


def _live_call_here(presences: Presences, tracker: CallTracker, request: Request) -> Call:
    call = answered_here(presences, tracker, request.extension, str(request.args["call_id"]))
    if call is None or call.state not in CONNECTED:
        raise CommandFailed("no_call", "该通话已结束，录音无法暂停或恢复")
    return call


async def set_recording_paused(
    ami: AmiActions,
    desk: DeskService,
    tracker: CallTracker,
    orders: DeskOrders,
    paused: bool,
    request: Request,
) -> Result:
    call = _live_call_here(desk.presences, tracker, request)
    was_paused = await orders.recording_paused(call.linkedid)
    if not paused and not was_paused:
        raise CommandFailed("not_paused", "录音未暂停，无需恢复")
    if not await mute_recording(ami, call.channel, paused):
        raise CommandFailed("no_recording", "该通话没有录音")
    try:
        changed = await orders.record_recording_pause(
            request.user_id, request.extension, call.linkedid, paused, call.started_at
        )
    except Exception as exc:
        await _undo(ami, call, was_paused)
        if isinstance(exc, CallRefused):
            raise CommandFailed(exc.code, exc.message) from None
        raise
    desk.recording_changed(call, paused)
    return {"call_id": call.linkedid, "recording_paused": paused, "changed": changed}


async def _undo(ami: AmiActions, call: Call, was_paused: bool) -> None:
    try:
        await mute_recording(ami, call.channel, was_paused)
    except Exception as exc:
        log.error("call %s: recording mute not undone (%s)", call.linkedid, exc)
