"""The control states of the talking calls, read back from Asterisk after a (re)connect:
`CoreShowChannels` and `ConfbridgeList` of each call's two rooms, rebuilt by the pure
`live_control.py`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Protocol

from telephony.ami_connection import AmiActionError
from telephony.call import Call
from telephony.call_control import TargetKind
from telephony.control_store import ControlStore
from telephony.dialplan import consult_room, main_room
from telephony.hold_music import HoldMusic
from telephony.list_items import channel_snapshot
from telephony.live_control import RebuiltControl, RoomMember, controls_from_snapshot, room_member

log = logging.getLogger(__name__)


class AmiLists(Protocol):
    """What call control needs of the AMI client: actions, and list actions to re-sync."""

    async def action(self, name: str, timeout: float = ..., **headers: str) -> dict[str, str]: ...

    async def action_list(
        self, name: str, timeout: float = ..., **headers: str
    ) -> list[dict[str, str]]: ...


async def rebuilt_controls(
    ami: AmiLists, calls: Iterable[Call], kinds: Mapping[str, TargetKind]
) -> dict[str, RebuiltControl]:
    """Raises what the AMI client raises (connection lost, timeout) or MalformedEvent."""
    calls = list(calls)
    if not calls:
        return {}
    names = [name for c in calls for name in (main_room(c.linkedid), consult_room(c.linkedid))]
    members = [m for room in await asyncio.gather(*(_room(ami, n) for n in names)) for m in room]
    listed = await ami.action_list("CoreShowChannels")
    channels = [channel_snapshot(h) for h in listed if h.get("Event") == "CoreShowChannel"]
    return controls_from_snapshot(calls, members, channels, kinds, time.time())


async def _room(ami: AmiLists, name: str) -> list[RoomMember]:
    try:
        items = await ami.action_list("ConfbridgeList", Conference=name)
    except AmiActionError:
        return []  # "No Conference by that name found.": the call never used that room
    return [room_member(h) for h in items if h.get("Event") == "ConfbridgeList"]


async def adopt_controls(
    ami: AmiLists,
    store: ControlStore,
    hold_music: HoldMusic,
    calls: Iterable[Call],
    kinds: Mapping[str, TargetKind],
) -> None:
    """The rebuilt states made the calls' own, their channels (and hold-music player)
    routed to them, hold music started or stopped as their rooms now are."""
    for linkedid, rebuilt in (await rebuilt_controls(ami, calls, kinds)).items():
        st, owner = rebuilt.state, store.owner
        owner[st.caller_channel] = owner[st.agent_channel] = linkedid
        if st.consult is not None:
            owner[st.consult.party_uniqueid] = owner[st.consult.dial_uniqueid] = linkedid
        if rebuilt.player:
            hold_music.players[linkedid] = rebuilt.player
            owner[rebuilt.player] = owner[f"{rebuilt.player}-2"] = linkedid
        log.info("call %s under control found again (agent in %s room)", linkedid,
                 st.agent_room.value or "no")  # fmt: skip
        await store.set(linkedid, st)
        if (player := hold_music.follow(st)) is not None:
            owner[player] = owner[f"{player}-2"] = linkedid
