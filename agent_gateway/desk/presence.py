"""Agent presence: a pure state machine kept as one transition table.

The backend feeds it inputs derived from AMI events and agent commands; it returns the new
presence or raises IllegalTransition. Raising (rather than silently keeping the state) makes
an out-of-order event or a refused command visible where it happens: the backend logs it or
answers the command with the reason, and the stored presence stays as it was.
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
    """The re-sync after a (re)connect found the agent on this call."""

    call_id: str


@dataclass(frozen=True, slots=True)
class FoundWrappingUp:
    """The re-sync found the agent still wrapping up this call, until `deadline` (epoch s)."""

    call_id: str
    deadline: float


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

    @classmethod
    def logged_out(cls, extension: str, name: str, at: float) -> AgentPresence:
        return cls(extension, name, PresenceState.LOGGED_OUT, None, at, None)

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


def apply(presence: AgentPresence, event: PresenceInput, at: float) -> AgentPresence:
    """The presence after `event` at time `at`; raises IllegalTransition if not allowed."""
    new_state = TRANSITIONS.get((presence.state, type(event)))
    if new_state is None:
        raise IllegalTransition(presence, event, "no such transition")
    # Inputs about a call must name the call the agent is on.
    if isinstance(event, Answered | CallEnded) and event.call_id != presence.call_id:
        raise IllegalTransition(
            presence, event, f"call {event.call_id} is not the agent's call {presence.call_id}"
        )
    return dataclasses.replace(
        presence,
        state=new_state,
        reason=event.reason if isinstance(event, Paused) else None,
        since=at,
        call_id=_call_id_after(presence, event, new_state),
    )


def _call_id_after(
    presence: AgentPresence, event: PresenceInput, new_state: PresenceState
) -> str | None:
    """Ringing (or the re-sync) brings a call; talking and wrap-up keep it (the order is saved
    in wrap-up)."""
    if isinstance(event, Ringing | TookOver | FoundTalking | FoundWrappingUp):
        return event.call_id
    return presence.call_id if new_state in (S.TALKING, S.WRAP_UP) else None
