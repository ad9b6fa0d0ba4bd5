"""The control state of calls under control rebuilt from what Asterisk lists after a
(re)connect (`ConfbridgeList` of each call's two rooms, `CoreShowChannels`), as
`live_snapshot.py` rebuilds the calls: a backend restarted in the middle of a hold, a
consult or a three-party call finds the call's control state again instead of answering
every command `not_now`.

Pure: room members and channel snapshots in, control states out. A consult still ringing
(its Local in no room yet) is tied to its call by its Uniqueid (`consult_party_id`). What
the lists cannot tell (the attempts that failed before the one now ringing or answered) is
not rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from telephony.call import Call
from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlState,
    Room,
    TargetKind,
    TrunkAttempt,
    leg_of,
    settle,
)
from telephony.dialplan import (
    CONTEXT_CONSULT,
    CONTEXT_HOLD_MUSIC,
    TECH,
    call_of_consult_party,
    consult_room,
    extension_of,
    interface_of_channel,
    main_room,
)
from telephony.list_items import ChannelSnapshot


@dataclass(frozen=True, slots=True)
class RoomMember:
    """One channel of a ConfBridge room, as `ConfbridgeList` lists it."""

    conference: str
    channel: str
    muted: bool = False


@dataclass(frozen=True, slots=True)
class RebuiltControl:
    state: ControlState
    player: str = ""  # the Uniqueid of the hold-music player in the caller's room, if any


def room_member(h: Mapping[str, str]) -> RoomMember:
    """One `ConfbridgeList` item."""
    return RoomMember(h.get("Conference", ""), h.get("Channel", ""), h.get("Muted") == "Yes")


def controls_from_snapshot(
    calls: Iterable[Call],
    members: Iterable[RoomMember],
    channels: Iterable[ChannelSnapshot],
    kinds: Mapping[str, TargetKind],
    at: float,
) -> dict[str, RebuiltControl]:
    """The control state of every talking call whose caller sits in its main room.
    `kinds`: what each consultable number is (an agent, a colleague, an emergency line)."""
    rooms: dict[str, list[RoomMember]] = {}
    for m in members:
        rooms.setdefault(m.conference, []).append(m)
    channels = list(channels)
    by_name = {ch.channel: ch for ch in channels}
    rebuilt = {}
    for call in calls:
        main = rooms.get(main_room(call.linkedid), [])
        if not any(m.channel == call.channel for m in main):
            continue  # never controlled: still in the queue's bridge
        room_of = {m.channel: Room.MAIN for m in main}
        room_of |= {m.channel: Room.CONSULT for m in rooms.get(consult_room(call.linkedid), [])}
        agent = _agent_of(call, room_of)
        muted = any(m.channel == agent and m.muted for m in main)
        agent_room = room_of.get(agent, Room.NONE)
        state = ControlState(
            call.linkedid, held=agent_room is Room.CONSULT, muted=muted,
            agent_in_call=bool(agent), conference=True, agent_channel=agent or call.agent_channel,
            caller_channel=call.channel, agent_room=agent_room, changed_at=at, adopted=True,
            consult=_consult_of(room_of, by_name, kinds, at)
            or _ringing_consult(call.linkedid, agent_room, channels, kinds, at),
        )  # fmt: skip
        player = next((by_name[c].uniqueid for c in room_of
                       if f"@{CONTEXT_HOLD_MUSIC}-" in c and c in by_name), "")  # fmt: skip
        rebuilt[call.linkedid] = RebuiltControl(settle(state), player)
    return rebuilt


def _agent_of(call: Call, room_of: Mapping[str, Room]) -> str:
    """The agent's phone in one of the call's rooms ("" once the agent left): the tracker's
    channel if it is that phone, else the one agent's phone of the rooms (never a Local: a
    player or a consulted party taken for the agent would end the call when it leaves)."""
    phones = [c for c in room_of if extension_of(interface_of_channel(c)) is not None]
    if call.agent_channel in phones:
        return call.agent_channel
    return phones[0] if len(phones) == 1 else ""


def _consult_of(
    room_of: Mapping[str, Room],
    by_name: Mapping[str, ChannelSnapshot],
    kinds: Mapping[str, TargetKind],
    at: float,
) -> Consult | None:
    """The answered consult of the call: the consult context's Local half in a room."""
    marker = f"@{CONTEXT_CONSULT}-"
    party = next((c for c in room_of if c.startswith("Local/") and marker in c), None)
    if party is None or party not in by_name:
        return None
    target = party.removeprefix("Local/").partition("@")[0]
    dialler = by_name.get(party.removesuffix(";1") + ";2")
    far = [ch for ch in by_name.values() if dialler is not None and dialler.bridge_id
           and ch.bridge_id == dialler.bridge_id and ch.channel != dialler.channel]  # fmt: skip
    started_at = at - by_name[party].duration_s
    attempts: tuple[TrunkAttempt, ...] = ()
    if far:
        line, leg = leg_of(far[0].channel)
        attempts = (TrunkAttempt(line, leg, "ANSWER", started_at, started_at),)
    kind = kinds.get(target, TargetKind.COLLEAGUE)
    room = room_of[party]
    return Consult(
        target=target, target_kind=kind, line=target if kind is TargetKind.EMERGENCY else "",
        mode=ConsultMode.HOLD if room is Room.CONSULT else ConsultMode.THREE_WAY,
        state=ConsultState.ANSWERED, reason="", started_at=started_at, answered_at=started_at,
        attempts=attempts, party_channel=party, party_uniqueid=by_name[party].uniqueid,
        dial_uniqueid=dialler.uniqueid if dialler is not None else "", party_room=room,
    )  # fmt: skip


def _ringing_consult(
    linkedid: str,
    agent_room: Room,
    channels: Iterable[ChannelSnapshot],
    kinds: Mapping[str, TargetKind],
    at: float,
) -> Consult | None:
    """The consult of the call still dialling: the consult context's Local half named for
    the call, in no room; ringing on the legs its Dial opened (their Linkedid is the Local's,
    an Originate's own). Held if the agent waits in the consult room, else three-way."""
    channels = list(channels)
    party = next((ch for ch in channels if ch.channel.startswith("Local/")
                  and f"@{CONTEXT_CONSULT}-" in ch.channel
                  and call_of_consult_party(ch.uniqueid) == linkedid), None)  # fmt: skip
    if party is None:
        return None
    target = party.channel.removeprefix("Local/").partition("@")[0]
    started_at = at - party.duration_s
    attempts = tuple(
        TrunkAttempt(*leg_of(ch.channel), "", at - ch.duration_s)
        for ch in channels
        if ch.linkedid == party.uniqueid and ch.channel.startswith(f"{TECH}/")
    )
    kind = kinds.get(target, TargetKind.COLLEAGUE)
    return Consult(
        target=target, target_kind=kind, line=target if kind is TargetKind.EMERGENCY else "",
        mode=ConsultMode.HOLD if agent_room is Room.CONSULT else ConsultMode.THREE_WAY,
        state=ConsultState.RINGING if attempts else ConsultState.DIALING, reason="",
        started_at=started_at, attempts=attempts, party_channel=party.channel,
        party_uniqueid=party.uniqueid, dial_uniqueid=f"{party.uniqueid}-2",
    )  # fmt: skip
