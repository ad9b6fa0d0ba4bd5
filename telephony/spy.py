"""A supervisor listening to, whispering into or barging into a live call (ChanSpy), as pure
state: one session per supervisor's phone, which channel of a call to spy on, what a
request may not do, and how Asterisk's events move a session. No I/O, no clock.

The supervisor's phone is originated into `CONTEXT_SPY`, whose extension per mode runs
ChanSpy on the full name of the spied channel with that mode's options; a mode switch
Redirects the answered phone to another mode's extension. A session is joined (or switched)
only once `ChanSpyStart` names its spy channel: the spy channel is in no bridge (or, for a
barge on a call in its ConfBridge rooms, once the supervisor's channel joined the room).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from telephony.call import Call, CallState
from telephony.call_control import ControlState, Room
from telephony.dialplan import VAR_SPY_RECORDING, interface_of
from telephony.events import (
    ChannelCreated,
    ChannelHungUp,
    ChannelRinging,
    ChannelVariableSet,
    ConferenceJoined,
    DomainEvent,
    SpyEvent,
)


class SpyMode(StrEnum):
    LISTEN = "listen"  # the supervisor hears both; nobody hears the supervisor
    WHISPER = "whisper"  # the agent hears the supervisor, the caller does not
    BARGE = "barge"  # both hear the supervisor


# q: no beep or name; E: the spy ends when the spied channel hangs up; w: whisper to the
# spied channel; B: barge in on both channels of its call.
SPY_OPTIONS = {SpyMode.LISTEN: "qE", SpyMode.WHISPER: "qEw", SpyMode.BARGE: "qEB"}
RECORDED = frozenset({SpyMode.WHISPER, SpyMode.BARGE})  # the supervisor's audio is kept
# Asterisk 16: B barges into the spied channel's bridge peer, and a channel in a ConfBridge
# room has none (only the spied channel would hear the supervisor): a barge on a call in its
# rooms joins the agent's room as a party instead (extension → room and ConfBridge user).
ROOM_BARGE = {Room.MAIN: "room-main", Room.CONSULT: "room-consult"}


def spy_exten(mode: SpyMode, control: ControlState | None) -> str:
    """The CONTEXT_SPY extension that puts the supervisor in `mode` on this call now."""
    if (
        mode is SpyMode.BARGE and control is not None and control.conference
        and control.agent_in_call and control.agent_room in ROOM_BARGE
    ):  # fmt: skip
        return ROOM_BARGE[control.agent_room]
    return mode.value


class SpyCode(StrEnum):
    """Why a spy request failed (`SpyFailed.code`), or why a session ended."""

    NOT_A_SUPERVISOR_PHONE = "not_a_supervisor_phone"  # no configured supervisor phone
    NO_CALL = "no_call"  # no such call (a spy channel is no call either)
    CALL_ENDED = "call_ended"
    NOT_TALKING = "not_talking"  # nobody to spy on yet: the call is not answered
    NO_CHANNEL = "no_channel"  # the channel to spy on is not in Asterisk (any more)
    OWN_CALL = "own_call"  # the supervisor's phone is a party of the call
    SPY_CHANNEL = "spy_channel"  # a supervisor's spy channel is not spied on
    ALREADY_SPYING = "already_spying"  # the phone is in a session already: leave it first
    NOT_SPYING = "not_spying"  # no session of this phone (or it has ended)
    NOT_NOW = "not_now"  # not joined yet, or a switch in progress
    NO_ANSWER = "no_answer"  # the supervisor's phone did not answer (busy, refused, timeout)
    NOT_CONFIRMED = "not_confirmed"  # Asterisk did not show ChanSpyStart in time
    LEFT = "left"  # ended: the supervisor left (hung up the spy channel or the phone)
    SPYEE_GONE = "spyee_gone"  # ended: the spied channel hung up (the call ended, or moved)
    LOST = "lost"  # ended while Asterisk's events were lost (found gone at a re-sync)


class SpyPhase(StrEnum):
    CALLING = "calling"  # the phone is being called
    JOINED = "joined"  # ChanSpyStart seen in the session's mode
    SWITCHING = "switching"  # redirected to another mode, its ChanSpyStart not seen yet
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class ModeChange:
    mode: SpyMode
    at: float  # Asterisk's time of the ChanSpyStart that confirmed it


@dataclass(frozen=True, slots=True)
class SpySession:
    """`uniqueid` is the spy channel's, chosen by the adapter (Originate's ChannelId)."""

    uniqueid: str
    phone: str  # the supervisor's phone (extension)
    linkedid: str  # the spied call
    agent: str  # the call's agent (extension), "" if none
    spyee_channel: str
    mode: SpyMode  # the mode asked for (confirmed once `phase` is JOINED)
    requested_at: float
    phase: SpyPhase = SpyPhase.CALLING
    spyer_channel: str = ""
    ringing_at: float | None = None
    joined_at: float | None = None
    ended_at: float | None = None
    changes: tuple[ModeChange, ...] = ()
    end_code: str = ""  # a SpyCode value once ended
    recording: str = ""  # the spy channel's MixMonitor file, once whisper or barge began
    requested_by: int | None = None  # the CRM user who asked (opaque here), for the audit

    @property
    def live(self) -> bool:
        return self.phase is not SpyPhase.ENDED

    @property
    def duration_s(self) -> float | None:
        """From joining the call to the end; None if it never joined or has not ended."""
        if self.joined_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.joined_at)


class SpyFailed(Exception):
    def __init__(self, code: SpyCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message


def spyee_of(call: Call, control: ControlState | None) -> str:
    """The channel whose audio is the call: the agent's leg while the agent is on the call
    (in a ConfBridge room it hears and says what the agent does: on hold, the agent and the
    consulted party; in a three-party call, all three), else the caller's."""
    if call.agent_channel and (control is None or control.agent_in_call):
        return call.agent_channel
    return call.channel


def refusal(
    call: Call | None,
    phone: str,
    sessions: Collection[SpySession],
    call_channels: Collection[str],
    control: ControlState | None,
) -> tuple[SpyCode, str] | None:
    """Why `phone` may not start spying on `call` now (None: it may). `call_channels`: the
    names of the channels Asterisk lists for the call (and the spyee checked there)."""
    if any(s.live and s.phone == phone for s in sessions):
        return SpyCode.ALREADY_SPYING, f"phone {phone} is spying already"
    if call is None:
        return SpyCode.NO_CALL, "no such call"
    if not call.active:
        return SpyCode.CALL_ENDED, "the call has ended"
    if call.state is not CallState.TALKING or not call.agent_channel:
        return SpyCode.NOT_TALKING, "the call is not talking with an agent"
    own = interface_of(phone) + "-"
    consulted = control is not None and control.consult is not None and not control.consult.final
    if (
        call.agent_interface == interface_of(phone)
        or any(name.startswith(own) for name in call_channels)
        or (consulted and control is not None and control.consult is not None
            and control.consult.target == phone)
    ):  # fmt: skip
        return SpyCode.OWN_CALL, "the supervisor's phone is on this call"
    spyee = spyee_of(call, control)  # an agent's or caller's leg: never a spy channel
    if spyee not in call_channels:
        return SpyCode.NO_CHANNEL, f"{spyee} is not in Asterisk"
    return None


def applied(session: SpySession, event: DomainEvent) -> SpySession:
    """The session after one Asterisk event about its spy channel (else unchanged)."""
    if isinstance(event, SpyEvent):
        if event.spyer_uniqueid != session.uniqueid or not event.started:
            return session
        if session.phase in (SpyPhase.JOINED, SpyPhase.ENDED):  # no switch asked: no change
            return session
        return dataclasses.replace(
            session,
            phase=SpyPhase.JOINED,
            spyer_channel=event.spyer_channel,
            joined_at=session.joined_at if session.joined_at is not None else event.at,
            changes=(*session.changes, ModeChange(session.mode, event.at)),
        )
    if isinstance(event, ConferenceJoined) and event.uniqueid == session.uniqueid:
        if session.phase not in (SpyPhase.CALLING, SpyPhase.SWITCHING):
            return session
        return dataclasses.replace(
            session, phase=SpyPhase.JOINED, spyer_channel=event.channel,
            joined_at=session.joined_at if session.joined_at is not None else event.at,
            changes=(*session.changes, ModeChange(session.mode, event.at)),
        )  # fmt: skip
    if isinstance(event, ChannelCreated) and event.uniqueid == session.uniqueid:
        return dataclasses.replace(session, spyer_channel=event.channel)
    if (
        isinstance(event, ChannelVariableSet) and event.uniqueid == session.uniqueid
        and event.name == VAR_SPY_RECORDING and event.value
    ):  # fmt: skip
        return dataclasses.replace(session, recording=event.value)
    if isinstance(event, ChannelRinging) and event.uniqueid == session.uniqueid:
        return dataclasses.replace(session, ringing_at=session.ringing_at or event.at)
    if isinstance(event, ChannelHungUp) and event.uniqueid == session.uniqueid and session.live:
        return ended(session, event.at, SpyCode.LEFT if session.joined_at else SpyCode.NO_ANSWER)
    return session


def adopted(session: SpySession, channel: Mapping[str, str], spyee: str, at: float) -> SpySession:
    """A session on record from before a restart whose spy channel Asterisk still lists
    (`channel`: its CoreShowChannel item), joined in the mode its extension says; `spyee`:
    the channel to spy on when the channel is not in ChanSpy now (a barge in a room)."""
    exten = channel.get("Exten", "")
    mode = SpyMode.BARGE if exten in ROOM_BARGE.values() else SpyMode(exten) if exten in set(
        SpyMode) else session.mode  # fmt: skip
    if channel.get("Application") == "ChanSpy":
        spyee = channel.get("ApplicationData", "").split(",", 1)[0] or spyee
    changes = session.changes
    if not changes or changes[-1].mode is not mode:
        changes = (*changes, ModeChange(mode, at))
    return dataclasses.replace(
        session, phase=SpyPhase.JOINED, mode=mode, spyer_channel=channel.get("Channel", ""),
        spyee_channel=spyee, joined_at=session.joined_at or at, changes=changes,
    )  # fmt: skip


def ended(session: SpySession, at: float, code: SpyCode) -> SpySession:
    if not session.live:
        return session
    return dataclasses.replace(session, phase=SpyPhase.ENDED, ended_at=at, end_code=code.value)


def switching(session: SpySession, mode: SpyMode) -> SpySession:
    return dataclasses.replace(session, mode=mode, phase=SpyPhase.SWITCHING)
