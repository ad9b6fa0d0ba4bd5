"""Agent presence: a pure state machine kept as one transition table.

The backend feeds it inputs derived from AMI events and agent commands; it returns the new
presence or raises IllegalTransition. Raising (rather than silently keeping the state) makes
an out-of-order event or a refused command visible where it happens: the backend logs it or
answers the command with the reason, and the stored presence stays as it was.

A pause given while the agent is on a call (ringing, talking, wrapping up it) is pending: the
agent stays on the call, and becomes paused with that reason when its call is done (after the
wrap-up, which is where the call's outcome is given). Asterisk holds the member paused with
the reason meanwhile, which is what a restarted backend reads back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from agent_gateway.edge.protocol import Presence, PresenceState


@dataclass(frozen=True, slots=True)
class LoggedIn:
    pass


@dataclass(frozen=True, slots=True)
class LoggedOut:
    pass


@dataclass(frozen=True, slots=True)
class Paused:
    reason: str


@dataclass(frozen=True, slots=True)
class Unpaused:
    pass


@dataclass(frozen=True, slots=True)
class Ringing:
    call_id: str


@dataclass(frozen=True, slots=True)
class Answered:
    call_id: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str


@dataclass(frozen=True, slots=True)
class WrapUpDone:
    pass


@dataclass(frozen=True, slots=True)
class TookOver:
    """A blind transfer put the caller through to this agent's phone (no queue rang it), or
    a warm one: the agent it consulted took the call over."""

    call_id: str


@dataclass(frozen=True, slots=True)
class FoundTalking:
    """The re-sync after a (re)connect found the agent on this call (paused in Asterisk with
    `pending_pause`: a pause given during the call)."""

    call_id: str
    pending_pause: str | None = None


@dataclass(frozen=True, slots=True)
class FoundWrappingUp:
    """The re-sync found the agent still wrapping up this call, until `deadline` (epoch s)."""

    call_id: str
    deadline: float
    pending_pause: str | None = None


PresenceInput = (
    LoggedIn
    | LoggedOut
    | Paused
    | Unpaused
    | Ringing
    | Answered
    | TookOver
    | CallEnded
    | WrapUpDone
    | FoundTalking
    | FoundWrappingUp
)


@dataclass(frozen=True, slots=True)
class AgentPresence:
    extension: str
    name: str
    state: PresenceState
    reason: str | None
    since: float
    call_id: str | None
    pending_pause: str | None = None  # the reason of a pause that starts when the call is done

    @classmethod
    def logged_out(cls, extension: str, name: str, at: float) -> AgentPresence:
        return cls(extension, name, PresenceState.LOGGED_OUT, None, at, None)

    @property
    def chosen_pause(self) -> str | None:
        """The reason of the pause the agent (or a supervisor) chose: now, or after the call."""
        return self.reason if self.state is PresenceState.PAUSED else self.pending_pause

    def to_message(self) -> Presence:
        """The `presence` message desktops receive (publish its model_dump(mode="json"))."""
        return Presence(**dataclasses.asdict(self))


class IllegalTransition(Exception):
    """The input makes no sense in the agent's current state; the presence is unchanged."""

    def __init__(self, presence: AgentPresence, event: PresenceInput, why: str) -> None:
        super().__init__(
            f"agent {presence.extension}: {type(event).__name__} not allowed when "
            f"{presence.state}: {why}"
        )
        self.presence = presence
        self.event = event


S = PresenceState
# What the agent becomes: (state it is in, input) → new state. Nothing else is legal.
TRANSITIONS: dict[tuple[PresenceState, type[PresenceInput]], PresenceState] = {
    (S.LOGGED_OUT, LoggedIn): S.AVAILABLE,
    (S.AVAILABLE, Ringing): S.RINGING,
    (S.AVAILABLE, Paused): S.PAUSED,
    (S.RINGING, Paused): S.RINGING,  # pending until the call is done
    (S.TALKING, Paused): S.TALKING,
    (S.RINGING, Answered): S.TALKING,
    (S.AVAILABLE, TookOver): S.TALKING,
    # Paused, yet it answered a colleague's consult at its phone and took the caller over.
    (S.PAUSED, TookOver): S.TALKING,
    (S.RINGING, CallEnded): S.AVAILABLE,  # missed: rang out or the caller gave up
    (S.TALKING, CallEnded): S.WRAP_UP,
    (S.WRAP_UP, WrapUpDone): S.AVAILABLE,
    (S.WRAP_UP, Paused): S.PAUSED,
    (S.PAUSED, Paused): S.PAUSED,  # a new reason (lunch → training)
    (S.PAUSED, Unpaused): S.AVAILABLE,
    (S.AVAILABLE, FoundTalking): S.TALKING,  # the re-sync: Asterisk's word after a (re)connect
    (S.AVAILABLE, FoundWrappingUp): S.WRAP_UP,
    **{(state, LoggedOut): S.LOGGED_OUT for state in PresenceState},
}
BUSY = (S.RINGING, S.TALKING, S.WRAP_UP)
# While a pause is pending these come first: an unpause cancels it, the call's end starts it.
WHILE_PENDING: dict[tuple[PresenceState, type[PresenceInput]], PresenceState] = {
    **{(state, Unpaused): state for state in BUSY},
    (S.RINGING, CallEnded): S.PAUSED,  # missed: no wrap-up
    (S.WRAP_UP, WrapUpDone): S.PAUSED,
}


def apply(presence: AgentPresence, event: PresenceInput, at: float) -> AgentPresence:
    """The presence after `event` at time `at`; raises IllegalTransition if not allowed."""
    key = (presence.state, type(event))
    new_state = (WHILE_PENDING.get(key) if presence.pending_pause else None) or TRANSITIONS.get(key)
    if new_state is None:
        raise IllegalTransition(presence, event, "no such transition")
    # Inputs about a call must name the call the agent is on.
    if isinstance(event, Answered | CallEnded) and event.call_id != presence.call_id:
        raise IllegalTransition(
            presence, event, f"call {event.call_id} is not the agent's call {presence.call_id}"
        )
    pending = _pending_after(presence, event, new_state)
    return dataclasses.replace(
        presence,
        state=new_state,
        reason=_reason_after(presence, event, new_state),
        # A pending pause given or cancelled changes nothing of the call's own time.
        since=presence.since if new_state in BUSY and new_state is presence.state else at,
        call_id=_call_id_after(presence, event, new_state),
        pending_pause=pending,
    )


def _reason_after(
    presence: AgentPresence, event: PresenceInput, new_state: PresenceState
) -> str | None:
    """A paused agent's reason: the pause's, or the one pending when the call was done."""
    if new_state is not S.PAUSED:
        return None
    return event.reason if isinstance(event, Paused) else presence.pending_pause


def _pending_after(
    presence: AgentPresence, event: PresenceInput, new_state: PresenceState
) -> str | None:
    """On a call, the pause pending: given, cancelled, found by the re-sync, or the pause the
    agent was in when it took a colleague's call over (Asterisk keeps it paused)."""
    if new_state not in BUSY:
        return None
    if isinstance(event, Paused):
        return event.reason
    if isinstance(event, Unpaused):
        return None
    if isinstance(event, FoundTalking | FoundWrappingUp):
        return event.pending_pause
    if presence.state is S.PAUSED:
        return presence.reason
    return presence.pending_pause


def _call_id_after(
    presence: AgentPresence, event: PresenceInput, new_state: PresenceState
) -> str | None:
    """Ringing (or the re-sync) brings a call; ringing on, talking and wrap-up keep it (the
    order is saved in wrap-up)."""
    if isinstance(event, Ringing | TookOver | FoundTalking | FoundWrappingUp):
        return event.call_id
    return presence.call_id if new_state in BUSY else None
