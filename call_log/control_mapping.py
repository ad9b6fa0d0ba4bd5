"""A change of a call's control state (hold, mute, consult, its trunk attempts, three-way,
the agent leaving, a warm transfer completed) as a call-log report: the events it adds and
the record's emergency facts. Pure: no I/O, no clock (times are Asterisk's)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import datetime
from typing import Any

from call_log.mapping import agent_extension, facts, utc
from crm.domain.call_progress import CallEventFact, CallUpdate
from crm.domain.calls import CallEventKind
from telephony.call import Call
from telephony.call_control import Consult, ConsultState, ControlState, TargetKind

_ENDINGS = {
    ConsultState.FAILED: CallEventKind.CONSULT_FAILED,
    ConsultState.CANCELLED: CallEventKind.CONSULT_CANCELLED,
    ConsultState.THREE_WAY: CallEventKind.THREE_WAY,
}


def _same(before: Consult | None, after: Consult) -> Consult | None:
    """The consult as it was before, if `after` is the same consult."""
    if before is None or before.party_uniqueid != after.party_uniqueid:
        return None
    return before


def _consult_events(
    before: Consult | None, c: Consult, agent: str, at: datetime
) -> list[CallEventFact]:
    found: list[CallEventFact] = []
    target: dict[str, Any] = {"target": c.target, "kind": c.target_kind.value, "line": c.line}
    if before is None:
        detail = {**target, "mode": c.mode.value}
        found.append(CallEventFact(CallEventKind.CONSULT_STARTED, utc(c.started_at), agent, detail))
    done_before = {a.started_at for a in (before.attempts if before else ()) if a.ended_at}
    for a in c.attempts:
        if a.ended_at is not None and a.started_at not in done_before:
            ms = round((a.ended_at - a.started_at) * 1000)
            detail = {"line": a.line, "leg": a.leg, "status": a.status, "ms": ms}
            found.append(CallEventFact(CallEventKind.TRUNK_ATTEMPT, utc(a.started_at), "", detail))
    if c.answered_at is not None and (before is None or before.answered_at is None):
        by = next((a.leg for a in c.attempts if a.status == "ANSWER"), "")
        answered = {**target, "by": by}
        found.append(
            CallEventFact(CallEventKind.CONSULT_ANSWERED, utc(c.answered_at), agent, answered)
        )
    kind = _ENDINGS.get(c.state)
    if kind is not None and (before is None or before.state is not c.state):
        found.append(CallEventFact(kind, at, agent, {**target, "reason": c.reason}))
    if c.state is ConsultState.COMPLETED and (before is None or before.state is not c.state):
        detail = {"target": c.target, "kind": "warm", "line": c.line}
        found.append(CallEventFact(CallEventKind.TRANSFERRED, at, agent, detail))
    return found


def control_events(
    before: ControlState | None, after: ControlState, call: Call
) -> tuple[CallEventFact, ...]:
    """What the change from `before` to `after` adds to the call's history. A state read
    back after a restart restates what led to it (times approximate): kept only where the
    backend that saw it happen did not record it before it died."""
    found = _events(before, after, call)
    if before is None and after.adopted:
        return tuple(dataclasses.replace(e, restated=True) for e in found)
    return found


def _events(
    before: ControlState | None, after: ControlState, call: Call
) -> tuple[CallEventFact, ...]:
    """Each step is the agent's who has the call at the time: who answered it, or after a
    warm transfer the agent it was handed to (`taken_by`)."""
    at, agent = utc(after.changed_at), after.taken_by or agent_extension(call)
    found: list[CallEventFact] = []
    was_held = before is not None and before.held
    handed = before is not None and after.taken_by != before.taken_by
    if after.held != was_held and after.agent_in_call and not after.ended and not handed:
        kind = CallEventKind.HELD if after.held else CallEventKind.RESUMED
        found.append(CallEventFact(kind, at, agent))
    was_muted = before is not None and before.muted
    if after.muted != was_muted and after.agent_in_call and not handed:
        kind = CallEventKind.MUTED if after.muted else CallEventKind.UNMUTED
        found.append(CallEventFact(kind, at, agent))
    if after.consult is not None:
        previous = _same(before.consult if before else None, after.consult)
        by = (before.taken_by if before is not None else "") or agent_extension(call)
        found += _consult_events(previous, after.consult, by if handed else agent, at)
    if before is not None and before.agent_in_call and not after.ended and (
        not after.agent_in_call or handed
    ):
        who = before.taken_by or agent_extension(call)
        found.append(CallEventFact(CallEventKind.PARTY_LEFT, at, who, {"who": "agent"}))
    if handed:  # the agent it was handed to has the caller now, as if it answered it
        taken = {"after_transfer": True, "target": after.taken_by, "kind": "warm"}
        found.append(CallEventFact(CallEventKind.ANSWERED, at, after.taken_by, taken))
    return tuple(found)


def emergency_line(state: ControlState) -> str:
    """The line that has the caller now: a warm transfer or three-way call to 110/119/120
    the agent left."""
    c = state.consult
    if c is None or c.target_kind is not TargetKind.EMERGENCY:
        return ""
    return c.line if c.state is ConsultState.COMPLETED else ""


def control_update(
    before: ControlState | None, after: ControlState, call: Call,
    emergency_numbers: Collection[str],
) -> CallUpdate:
    """The report of one change of the call's control state."""
    record = facts(call, None, emergency_numbers)
    c = after.consult
    started = c.started_at if c is not None and c.target_kind is TargetKind.EMERGENCY else None
    record = dataclasses.replace(
        record,
        emergency_line=emergency_line(after) or record.emergency_line,
        emergency_started_at=None if started is None else utc(started),
    )
    recording = call.recording if call.answered_at is not None else ""
    return CallUpdate(record, control_events(before, after, call), recording)
