"""What desktops are told of a call's control (hold, mute, consult), built from the control
helper's pure states (`telephony.call_control`). Pure: no I/O.

`ControlStates` is the desk's memory of them: the latest state of each live controlled call,
when its first consult to 110/119/120 began and the hand-over limit of its emergency order
saved at the desk (the 10-minute clock), and the
emergency line each call reached (kept past the call's end, since the agent may save the
emergency order at wrap-up: the order's TRANSFER to that line follows).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from agent_gateway.edge.control_commands import (
    CallControlInfo,
    ConsultInfo,
    TrunkAttemptInfo,
)
from telephony.call import Call, CallState
from telephony.call_control import Consult, ConsultState, ControlState, TargetKind
from telephony.control_rules import commands_allowed
from telephony.dialplan import extension_of, interface_of_channel

# The control machine's command names → the protocol's.
_PROTOCOL_NAMES = {"complete": "consult_complete", "cancel": "consult_cancel"}
# The emergency operator had the caller: the matter reached the line. Only answered is not
# enough: the agent may have found it not the line's matter and cancelled.
_REACHED = frozenset({ConsultState.THREE_WAY, ConsultState.COMPLETED})
REMEMBERED_LINES = 1000  # calls whose emergency line is kept for an order saved later


def allowed(state: ControlState | None, call: Call) -> list[str]:
    """The control commands the agent's desk offers now: none unless the call is talking."""
    if call.state is not CallState.TALKING or not call.agent_channel:
        return []
    names = (_PROTOCOL_NAMES.get(n, n) for n in commands_allowed(state))
    return sorted(names)


def consult_info(consult: Consult) -> ConsultInfo:
    return ConsultInfo(
        target=consult.target,
        target_kind=consult.target_kind.value,
        line=consult.line,
        mode=consult.mode.value,
        state=consult.state.value,
        reason=consult.reason,
        started_at=consult.started_at,
        answered_at=consult.answered_at,
        attempts=[TrunkAttemptInfo(**dataclasses.asdict(a)) for a in consult.attempts],
    )


def control_info(
    state: ControlState | None,
    call: Call,
    emergency_started_at: float | None,
    transfer_due_at: float | None = None,
) -> CallControlInfo:
    """The `control` of a call update (a call never controlled: all off, what applies)."""
    if state is None:
        return CallControlInfo(
            held=False, muted=False, agent_in_call=True, conference=False, consult=None,
            allowed=allowed(None, call), emergency_started_at=emergency_started_at,
            transfer_due_at=transfer_due_at,
        )  # fmt: skip
    return CallControlInfo(
        held=state.held,
        muted=state.muted,
        agent_in_call=state.agent_in_call,
        conference=state.conference,
        consult=None if state.consult is None else consult_info(state.consult),
        allowed=allowed(state, call),
        emergency_started_at=emergency_started_at,
        transfer_due_at=transfer_due_at,
    )


def agent_of(state: ControlState) -> str | None:
    """The agent (extension) whose leg is the call's agent leg in `state`."""
    return state.taken_by or extension_of(interface_of_channel(state.agent_channel))


def agent_left(before: ControlState | None, after: ControlState) -> str | None:
    """The agent (extension) whose part of the call ended with this change although the
    caller's call may go on: its leg left (warm transfer completed, left a three-party
    call, hung up), or the call was handed to another agent."""
    if before is not None and not before.agent_in_call:
        return None
    if not after.agent_in_call:
        return agent_of(before or after)
    if before is not None and after.taken_by != before.taken_by:
        return agent_of(before)
    return None


def taker(before: ControlState | None, after: ControlState) -> str | None:
    """The agent (extension) a warm transfer completed to, or whom the first agent left in
    a three-party call: it takes the call over (presence, pop, desk, the call's outcome)."""
    if not after.taken_by or (before is not None and before.taken_by == after.taken_by):
        return None
    return after.taken_by


class ControlStates:
    """The desk's memory of call control, fed by the control listener."""

    def __init__(self) -> None:
        self.states: dict[str, ControlState] = {}
        self.emergency_started: dict[str, float] = {}
        self.transfer_due: dict[str, float] = {}  # the hand-over limit of the call's order
        self._lines: OrderedDict[str, str] = OrderedDict()

    def changed(self, state: ControlState) -> ControlState | None:
        """Record the new state; return the one it replaces."""
        before = self.states.get(state.linkedid)
        self.states[state.linkedid] = state
        consult = state.consult
        if consult is not None and consult.target_kind is TargetKind.EMERGENCY:
            self.emergency_started.setdefault(state.linkedid, consult.started_at)
            if consult.state in _REACHED:
                self._lines[state.linkedid] = consult.line
                self._lines.move_to_end(state.linkedid)
                while len(self._lines) > REMEMBERED_LINES:
                    self._lines.popitem(last=False)
        return before

    def info(self, call: Call) -> CallControlInfo:
        linkedid = call.linkedid
        return control_info(
            self.states.get(linkedid), call, self.emergency_started.get(linkedid),
            self.transfer_due.get(linkedid),
        )  # fmt: skip

    def forget(self, linkedid: str) -> None:
        """The call ended: its live state goes (the emergency line it reached stays)."""
        self.states.pop(linkedid, None)
        self.emergency_started.pop(linkedid, None)
        self.transfer_due.pop(linkedid, None)

    def emergency_call(self, linkedid: str) -> bool:
        """Whether a consult of the call to 110/119/120 began (live) or reached its line."""
        return linkedid in self.emergency_started or linkedid in self._lines

    def emergency_line(self, linkedid: str) -> str | None:
        """The emergency line (110/119/120) whose operator answered a consult of the call."""
        return self._lines.get(linkedid)
