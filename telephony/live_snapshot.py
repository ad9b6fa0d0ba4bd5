"""The live calls rebuilt from what Asterisk lists after a (re)connect (`CoreShowChannels`,
`QueueStatus`): the re-sync's view, which `CallTracker.resync` makes the tracker match.

Pure: channel and queue-entry snapshots in, calls out (as best the lists allow: a call's
history, its IVR path or recording name, is not in them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from telephony.call import Call, CallState
from telephony.dialplan import (
    CONTEXT_CALLBACK_PLACE,
    CONTEXT_INBOUND,
    CONTEXT_ROOM_CALLER,
    CONTEXT_ROOM_CONSULT,
    CONTEXT_ROOM_PARTY,
    extension_of,
    interface_of_channel,
    request_of_channel,
)
from telephony.list_items import ChannelSnapshot, QueueEntrySnapshot


def calls_from_snapshot(
    channels: Iterable[ChannelSnapshot],
    entries: Iterable[QueueEntrySnapshot],
    at: float,
    inbound_context: str = CONTEXT_INBOUND,
) -> dict[str, Call]:
    """Rebuild the live calls from what Asterisk lists, as best the lists allow."""
    channels = list(channels)
    waiting = {e.uniqueid: e for e in entries}
    by_bridge: dict[str, list[ChannelSnapshot]] = {}
    for ch in channels:
        if ch.bridge_id:
            by_bridge.setdefault(ch.bridge_id, []).append(ch)
    calls = {}
    for ch in channels:
        # A call under control runs in its ConfBridge room (the caller moved out of the queue).
        in_room = ch.context == CONTEXT_ROOM_CALLER
        # a callback's placeholder: its half holding the place is the call's "caller"
        request = request_of_channel(ch.channel) if ch.context == CONTEXT_CALLBACK_PLACE else None
        caller = ch.uniqueid == ch.linkedid and (ch.context == inbound_context or in_room)
        if not caller and request is None:
            continue
        call = Call(
            linkedid=ch.linkedid,
            uniqueid=ch.uniqueid,
            channel=ch.channel,
            caller_number=ch.caller_number,
            caller_name=ch.caller_name,
            started_at=at - ch.duration_s,
            callback="" if request is None else str(request),
        )
        entry = waiting.get(ch.uniqueid)
        peers = [p for p in by_bridge.get(ch.bridge_id, []) if p.uniqueid != ch.uniqueid]
        if in_room:  # the agent's phone, with the caller or in the consult room (on hold);
            # never the hold-music player or a consulted party's Local
            peers = [p for p in channels if p.linkedid == ch.linkedid
                     and p.context in (CONTEXT_ROOM_PARTY, CONTEXT_ROOM_CONSULT)
                     and extension_of(interface_of_channel(p.channel)) is not None]  # fmt: skip
        if entry is not None:
            call = dataclasses.replace(
                call, state=CallState.QUEUED, queue=entry.queue, queued_at=at - entry.wait_s
            )
        elif peers or in_room:  # alone in its room: on hold, still talking
            agent = peers[0] if peers else None
            call = dataclasses.replace(
                call,
                state=CallState.TALKING,
                answered_at=at,
                agent_interface=interface_of_channel(agent.channel) if agent else "",
                agent_name=agent.caller_name if agent else "",
                agent_channel=agent.channel if agent else "",
                in_rooms=in_room,
            )
        calls[call.linkedid] = call
    return calls
