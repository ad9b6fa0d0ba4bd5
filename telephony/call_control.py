"""Call control as a pure state machine: hold, mute, consult (warm transfer), three-party
call and leave, for one controlled call, over the ConfBridge rooms the backend moves its
channels between (main room: the caller's; consult room: the agent away from the caller).

`TRANSITIONS` is the whole machine: (event type, consult state or None) → how the control
state changes; anything not in the table leaves it as it is. Which channel an event is about
is told by the state itself (the agent's channel, the consulted party's Local halves), so the
adapter (`call_control_service.py`) only routes events to the right call. No I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from telephony.dialplan import consult_room, main_room
from telephony.events import (
    ChannelCreated,
    ChannelHungUp,
    ConferenceJoined,
    ConferenceLeft,
    ConferenceMuted,
    DialAnswered,
    DialFailed,
    DialStarted,
    DomainEvent,
    TrunksFailed,
)


class TargetKind(StrEnum):
    AGENT = "agent"
    COLLEAGUE = "colleague"
    EMERGENCY = "emergency"


class ConsultMode(StrEnum):
    HOLD = "hold"  # the caller hears hold music while the agent talks to the third party
    THREE_WAY = "three_way"  # the third party is dialled straight into the caller's room


class ConsultState(StrEnum):
    DIALING = "dialing"  # originated, no INVITE seen yet
    RINGING = "ringing"  # a leg is being dialled (DialBegin)
    ANSWERED = "answered"  # the third party talks with the agent, the caller holds
    THREE_WAY = "three_way"  # caller, agent and third party in the main room
    COMPLETED = "completed"  # caller and third party together, the agent gone
    CANCELLED = "cancelled"  # the third party hung up (by the agent's cancel, or itself)
    FAILED = "failed"  # never answered: busy, no answer, all trunks down


FINAL_CONSULT = frozenset({ConsultState.COMPLETED, ConsultState.CANCELLED, ConsultState.FAILED})


class ControlCode(StrEnum):
    """Why a command failed (`ControlFailed.code`) or a consult did (`Consult.reason`)."""

    NOT_CONFIRMED = "not_confirmed"  # Asterisk did not show the change in time
    NOT_NOW = "not_now"  # the command does not apply to the call as it is
    NO_CONSULT = "no_consult"  # complete/three_way/cancel without a consult to act on
    BAD_TARGET = "bad_target"  # not an agent, colleague or emergency line (or yourself)
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    ALL_TRUNKS_DOWN = "all_trunks_down"  # every leg of an emergency line was down
    UNAVAILABLE = "unavailable"  # the last leg dialled was down (unreachable, refused)
    HUNG_UP = "hung_up"  # the answered third party left by itself


class Room(StrEnum):
    NONE = ""  # not in a room (the queue's bridge before control, or gone)
    MAIN = "main"
    CONSULT = "consult"


@dataclass(frozen=True, slots=True)
class TrunkAttempt:
    """One leg dialled for a consult: `line` 110/119/120 (or the extension dialled), `leg`
    primary/backup (or the endpoint), `status` "" while it rings, else Asterisk's
    DialStatus (ANSWER, BUSY, CONGESTION for a 503, NOANSWER, CHANUNAVAIL, CANCEL)."""

    line: str
    leg: str
    status: str
    started_at: float
    ended_at: float | None = None


@dataclass(frozen=True, slots=True)
class Consult:
    target: str  # the number dialled: 110, an agent's or a colleague's extension
    target_kind: TargetKind
    line: str  # the emergency line (110/119/120), "" for agents and colleagues
    mode: ConsultMode
    state: ConsultState
    reason: str  # a ControlCode value once failed or cancelled by itself, else ""
    started_at: float
    answered_at: float | None = None
    attempts: tuple[TrunkAttempt, ...] = ()
    party_channel: str = ""  # the Local half that sits in a room (moved, hung up)
    party_uniqueid: str = ""  # that half's Uniqueid (the Originate's ChannelId)
    dial_uniqueid: str = ""  # the other half, which runs the Dial (OtherChannelId)
    party_room: Room = Room.NONE
    cancelling: bool = False  # the agent asked to cancel: its hang-up is a cancel

    @property
    def final(self) -> bool:
        return self.state in FINAL_CONSULT


@dataclass(frozen=True, slots=True)
class ControlState:
    """One controlled call. `conference`: the caller is in its main room (the first control
    action took the call out of the queue's bridge; app_queue's AgentComplete then says
    Reason=caller although the call goes on). `held`: the agent is away from the caller (on
    hold or consulting in hold mode): the caller hears hold music. `agent_in_call`: the
    agent's leg is still part of the call."""

    linkedid: str
    held: bool = False
    muted: bool = False
    agent_in_call: bool = True
    conference: bool = False
    consult: Consult | None = None
    agent_channel: str = ""
    caller_channel: str = ""
    agent_room: Room = Room.NONE
    changed_at: float = 0.0  # Asterisk's time of the event that made this state
    ended: bool = False  # the caller hung up: the last state listeners get for the call
    adopted: bool = False  # read back from Asterisk at a re-sync: what led here is on record
    taken_by: str = ""  # the agent (extension) the call was handed to; "" for who answered

    @property
    def three_party(self) -> bool:
        return self.consult is not None and self.consult.state is ConsultState.THREE_WAY

    def room_of(self, conference: str) -> Room:
        if conference == main_room(self.linkedid):
            return Room.MAIN
        if conference == consult_room(self.linkedid):
            return Room.CONSULT
        return Room.NONE


def out_of_rooms(state: ControlState, at: float) -> ControlState:
    """The call's last state under control (Asterisk's time `at`): the caller hung up, or
    went back to its queue (`Reaction.REQUEUE`); nobody of the call is left in the rooms."""
    return dataclasses.replace(
        state, agent_in_call=False, agent_room=Room.NONE, held=False, muted=False,
        ended=True, changed_at=at,
    )  # fmt: skip


def caller_hung_up(state: ControlState, at: float) -> ControlState:
    """The call's last state once the caller hung up (Asterisk's time `at`): a consult still
    going ends cancelled (reason hung_up), each leg still ringing closed as CANCEL then, so
    the call record keeps every attempt and the consult's end."""
    c = state.consult
    if c is not None and not c.final:
        attempts = tuple(
            a if a.ended_at is not None else dataclasses.replace(a, status="CANCEL", ended_at=at)
            for a in c.attempts
        )
        c = dataclasses.replace(
            c, state=ConsultState.CANCELLED, reason=ControlCode.HUNG_UP.value,
            attempts=attempts, party_room=Room.NONE,
        )  # fmt: skip
    return out_of_rooms(dataclasses.replace(state, consult=c), at)


def started(state: ControlState, consult: Consult) -> ControlState:
    """A consult originated by the adapter (replacing a finished one)."""
    return dataclasses.replace(state, consult=consult)


def cancel_requested(state: ControlState) -> ControlState:
    if state.consult is None or state.consult.final:
        return state
    return dataclasses.replace(state, consult=dataclasses.replace(state.consult, cancelling=True))


# DialStatus of a leg that was down (not reachable, or it refused: a 503 is CONGESTION).
_DOWN = frozenset({"CHANUNAVAIL", "CONGESTION"})
_LAST_STATUS = {"NOANSWER": ControlCode.NO_ANSWER, "BUSY": ControlCode.BUSY}


def failure_reason(consult: Consult, skipped: int = 0) -> ControlCode:
    """Why a consult that was never answered failed, from its attempts' DialStatus and the
    legs the dialplan `skipped` (known unreachable): all_trunks_down only when every leg of
    an emergency line was down, else what the last leg said (busy, no answer, unavailable)."""
    statuses = [a.status for a in consult.attempts]
    if (statuses or skipped) and all(s in _DOWN for s in statuses):
        if consult.target_kind is TargetKind.EMERGENCY:
            return ControlCode.ALL_TRUNKS_DOWN
        return ControlCode.UNAVAILABLE
    if not statuses:
        return ControlCode.UNAVAILABLE
    return _LAST_STATUS.get(statuses[-1], ControlCode.UNAVAILABLE)


Handler = Callable[[ControlState, Any], ControlState]


def _consult(control: ControlState, /, **changes: Any) -> ControlState:
    assert control.consult is not None
    consult = dataclasses.replace(control.consult, **changes)
    return settle(dataclasses.replace(control, consult=consult))


def settle(state: ControlState) -> ControlState:
    """The consult's state as the rooms now say it (a final one stays final)."""
    c = state.consult
    if c is None or c.final or c.party_room is not Room.MAIN:
        if c is not None and not c.final and c.party_room is Room.CONSULT:
            return dataclasses.replace(state, consult=dataclasses.replace(
                c, state=ConsultState.ANSWERED))  # fmt: skip
        return state
    if not state.agent_in_call:
        new = ConsultState.COMPLETED
    elif state.agent_room is Room.MAIN:
        new = ConsultState.THREE_WAY
    else:
        return state  # the agent is on the way (complete or three_way in progress)
    return dataclasses.replace(state, consult=dataclasses.replace(c, state=new))


def handed_over(state: ControlState) -> ControlState:
    """A consult of another agent completed (warm transfer, or the first agent left the
    three-party call): that agent has the call now. Its leg in the rooms (the consult's Local
    half) becomes the call's agent leg, so hold, mute, consult and hang-up act on it and its
    hang-up is the agent's; the completed consult stays on record, in no room of its own."""
    c = state.consult
    if (
        c is None or c.target_kind is not TargetKind.AGENT or c.state is not ConsultState.COMPLETED
        or c.party_room is Room.NONE or not c.party_channel
    ):  # fmt: skip
        return state
    return dataclasses.replace(
        state, agent_channel=c.party_channel, agent_in_call=True, agent_room=c.party_room,
        held=c.party_room is Room.CONSULT, muted=False, taken_by=c.target,
        consult=dataclasses.replace(c, party_room=Room.NONE),
    )  # fmt: skip


def _is_party(c: Consult | None, e: Any) -> bool:
    return c is not None and e.uniqueid in (c.party_uniqueid, c.dial_uniqueid)


def _joined(state: ControlState, e: ConferenceJoined) -> ControlState:
    room = state.room_of(e.conference)
    if room is Room.NONE:
        return state
    if e.channel == state.agent_channel:
        moved = dataclasses.replace(state, agent_room=room, held=room is Room.CONSULT, muted=False)
        return settle(moved)
    if e.channel == state.caller_channel and room is Room.MAIN:
        return dataclasses.replace(state, conference=True)
    c = state.consult
    if c is not None and e.uniqueid == c.party_uniqueid and not c.final:
        answered = c.answered_at if c.answered_at is not None else e.at
        return _consult(state, party_room=room, party_channel=e.channel, answered_at=answered)
    return state


def _left(state: ControlState, e: ConferenceLeft) -> ControlState:
    room = state.room_of(e.conference)
    if e.channel == state.agent_channel and state.agent_room is room:
        return dataclasses.replace(state, agent_room=Room.NONE)
    c = state.consult
    if c is not None and e.uniqueid == c.party_uniqueid and c.party_room is room:
        return dataclasses.replace(state, consult=dataclasses.replace(c, party_room=Room.NONE))
    return state


def _muted(state: ControlState, e: ConferenceMuted) -> ControlState:
    if e.channel != state.agent_channel:
        return state
    return dataclasses.replace(state, muted=e.muted)


def leg_of(dest_channel: str) -> tuple[str, str]:
    """PJSIP/trunk-110-backup-0000002a → (110, backup); PJSIP/1002-0000002b → (1002, 1002)."""
    endpoint = dest_channel.partition("/")[2].rpartition("-")[0]
    parts = endpoint.split("-")
    if len(parts) == 3 and parts[0] == "trunk":
        return parts[1], parts[2]
    return endpoint, endpoint


def _dial_started(state: ControlState, e: DialStarted) -> ControlState:
    c = state.consult
    if not _is_party(c, e):
        return state
    assert c is not None
    line, leg = leg_of(e.dest_channel)
    attempt = TrunkAttempt(line, leg, "", e.at)
    return _consult(state, state=ConsultState.RINGING, attempts=(*c.attempts, attempt))


def _close_attempt(c: Consult, status: str, at: float) -> tuple[TrunkAttempt, ...]:
    attempts = list(c.attempts)
    for i in range(len(attempts) - 1, -1, -1):
        if attempts[i].ended_at is None:
            attempts[i] = dataclasses.replace(attempts[i], status=status, ended_at=at)
            break
    return tuple(attempts)


def _dial_failed(state: ControlState, e: DialFailed) -> ControlState:
    c = state.consult
    if not _is_party(c, e):
        return state
    assert c is not None
    return _consult(state, attempts=_close_attempt(c, e.status, e.at))


def _dial_answered(state: ControlState, e: DialAnswered) -> ControlState:
    c = state.consult
    if not _is_party(c, e):
        return state
    assert c is not None
    answered = c.answered_at if c.answered_at is not None else e.at
    return _consult(state, attempts=_close_attempt(c, "ANSWER", e.at), answered_at=answered)


def _trunks_failed(state: ControlState, e: TrunksFailed) -> ControlState:
    c = state.consult
    if not _is_party(c, e):
        return state
    assert c is not None
    reason = failure_reason(c, e.skipped).value
    return _consult(state, state=ConsultState.FAILED, reason=reason)


def _created(state: ControlState, e: ChannelCreated) -> ControlState:
    c = state.consult
    if c is None or e.uniqueid != c.party_uniqueid or c.party_channel:
        return state
    return _consult(state, party_channel=e.channel)


def _hung_up(state: ControlState, e: ChannelHungUp) -> ControlState:
    if e.channel == state.agent_channel:
        gone = dataclasses.replace(
            state, agent_in_call=False, agent_room=Room.NONE, held=False, muted=False
        )
        return settle(gone)
    c = state.consult
    if not _is_party(c, e) or c is None:
        return state
    if c.final:  # the party a warm transfer left with the caller hung up: it is gone
        return dataclasses.replace(state, consult=dataclasses.replace(c, party_room=Room.NONE))
    if c.cancelling:
        return _consult(state, state=ConsultState.CANCELLED, party_room=Room.NONE)
    if c.answered_at is None:
        reason = failure_reason(c).value
        return _consult(state, state=ConsultState.FAILED, reason=reason, party_room=Room.NONE)
    return _consult(
        state, state=ConsultState.CANCELLED, reason=ControlCode.HUNG_UP.value,
        party_room=Room.NONE,
    )  # fmt: skip


_ANY: tuple[ConsultState | None, ...] = (None, *ConsultState)
_LIVE: tuple[ConsultState | None, ...] = tuple(s for s in ConsultState if s not in FINAL_CONSULT)

TRANSITIONS: Mapping[tuple[type[DomainEvent], ConsultState | None], Handler] = {
    **{(ConferenceJoined, s): _joined for s in _ANY},
    **{(ConferenceLeft, s): _left for s in _ANY},
    **{(ConferenceMuted, s): _muted for s in _ANY},
    **{(ChannelHungUp, s): _hung_up for s in _ANY},
    **{(ChannelCreated, s): _created for s in _LIVE},
    **{(DialStarted, s): _dial_started for s in _LIVE},
    **{(DialFailed, s): _dial_failed for s in _LIVE},
    **{(DialAnswered, s): _dial_answered for s in _LIVE},
    **{(TrunksFailed, s): _trunks_failed for s in _LIVE},
}


def apply(state: ControlState, event: DomainEvent) -> ControlState:
    """The control state after `event` (the same object when nothing changed)."""
    key = None if state.consult is None else state.consult.state
    handler = TRANSITIONS.get((type(event), key))
    if handler is None:
        return state
    changed = handed_over(handler(state, event))
    return state if changed == state else dataclasses.replace(changed, changed_at=event.at)
