"""What every verb handler gets and may raise, and the checks several of them share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent_gateway.desk.presence import AgentPresence
from agent_gateway.edge.protocol import PresenceState
from agent_gateway.edge.supervisor_commands import FLOOR_ROLES
from telephony.call import CONNECTED, Call
from telephony.call_control import ControlState
from telephony.control_rules import commands_allowed
from telephony.dialplan import interface_of
from telephony.tracker import CallTracker


class CommandFailed(Exception):
    """A refusal the agent reads in the `command_result` (`code`, `message`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Request:
    """One command whose seal, age and sender the executor checked: an agent's at its desk
    (`extension`), or a supervisor's (`extension` their own phone's, or ""; the target agent
    or call is in `args`, checked by the verb)."""

    extension: str
    args: Mapping[str, Any]
    user_id: int
    role: str
    user_name: str = ""


Result = dict[str, Any]
Handler = Callable[[Request], Awaitable[Result]]

AGENT_DESK = frozenset({"agent"})  # a verb of the agent's own desk (its extension's)
FLOOR = FLOOR_ROLES  # a supervisor's verb: supervisors and admins


@dataclass(frozen=True)
class Verb:
    """A table entry: the roles whose sealed commands may run the verb, and its handler. A verb
    for `AGENT_DESK` also needs the sender's extension to be an agent's desk."""

    roles: frozenset[str]
    handler: Handler
Presences = Mapping[str, AgentPresence]  # the desk's, by extension


def require_logged_in(presences: Presences, extension: str) -> None:
    if presences[extension].state is PresenceState.LOGGED_OUT:
        raise CommandFailed("logged_out", "log in to a queue first")


def require_applies(state: ControlState | None, command: str, why: str) -> None:
    """Refuse `command` (not_now, with `why` for the agent) unless the call's control state
    allows it now: the same decision the desk's buttons follow."""
    if command not in commands_allowed(state):
        raise CommandFailed("not_now", why)


def current_call(presences: Presences, tracker: CallTracker, extension: str) -> Call:
    """The call the agent is talking on now: one it has the caller of (it answered it, or
    it was handed the call), not one it handed on and wraps up."""
    call_id = presences[extension].call_id
    call = tracker.calls.get(call_id) if call_id else None
    if call is None or call.state not in CONNECTED or not call.agent_channel:
        raise CommandFailed("no_call", "no call in progress")
    if call.outcome_owner != interface_of(extension):
        raise CommandFailed("not_your_call", "该通话已转给其他坐席")
    return call


def answered_here(
    presences: Presences, tracker: CallTracker, extension: str, call_id: str
) -> Call | None:
    """The call `call_id` if this agent answered it, or took it after a blind transfer (the
    agent who has the caller last: `Call.outcome_owner`). A call the tracker no longer knows
    (it ended before a backend restart) is the agent's if its presence still holds the agent
    on it or wrapping it up: then None."""
    call = tracker.get(call_id)
    if call is None:
        presence = presences[extension]
        on_it = presence.state in (PresenceState.TALKING, PresenceState.WRAP_UP)
        if on_it and presence.call_id == call_id:
            return None
        raise CommandFailed("no_call", f"没有这个通话（{call_id}）")
    if call.answered_at is None or call.outcome_owner != interface_of(extension):
        raise CommandFailed("not_your_call", "该通话不是在您的坐席接听的")
    return call
