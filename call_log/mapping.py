"""The tracker's call (and what just changed it) as a call-log report: the record's facts,
its outcome, the events on the call. Pure: no I/O, no clock; times become naive UTC."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from crm.domain.call_progress import CallEventFact, CallFacts, CallUpdate
from crm.domain.calls import CallEventKind, CallOutcome, lost_by_asterisk
from crm.domain.queue_callback import PLACEHOLDER_LABEL
from crm.domain.survey import parse_answer
from telephony.call import FINAL, Call, CallChanged, CallState
from telephony.dialplan import REFUSED_NUISANCE, extension_of, interface_of_channel
from telephony.events import (
    AgentAnswered,
    AgentRinging,
    CallerJoinedQueue,
    CallHeld,
    CallTransferred,
    DialAnswered,
    DomainEvent,
)

# Column widths of crm.db.call_models.CallRecord (PostgreSQL refuses longer strings).
WIDTHS = {
    "caller_number": 32, "caller_name": 80, "ivr_choice": 8, "ivr_label": 32, "queue": 64,
    "agent_extension": 16, "agent_name": 40, "end_reason": 200, "emergency_line": 8,
}  # fmt: skip


def utc(ts: float) -> datetime:
    """An Asterisk timestamp (epoch seconds) as the database's naive UTC."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def maybe_utc(ts: float | None) -> datetime | None:
    return None if ts is None else utc(ts)


def clean(value: str) -> str:
    """Free text from the caller's side (a SIP display name, a hang-up cause) without
    control characters: PostgreSQL refuses NUL, and the rest has no place in a record."""
    if value.isprintable():
        return value
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cc")


def _clip(name: str, value: str) -> str:
    return clean(value)[: WIDTHS[name]]


def agent_extension(call: Call) -> str:
    return extension_of(call.agent_interface) or ""


def emergency_line(call: Call, emergency_numbers: Collection[str]) -> str:
    return call.transfer_target if call.transfer_target in emergency_numbers else ""


def outcome(call: Call, emergency_numbers: Collection[str]) -> CallOutcome:
    """How the call ended, or `in_progress` while it is up."""
    if call.state not in FINAL:
        return CallOutcome.IN_PROGRESS
    if emergency_line(call, emergency_numbers):
        return CallOutcome.EMERGENCY
    if call.answered_at is not None:
        return CallOutcome.ANSWERED
    if call.callback_requested:
        return CallOutcome.CALLBACK  # its place kept by a placeholder, the citizen called back
    if call.refused == REFUSED_NUISANCE:
        return CallOutcome.NUISANCE  # told why and hung up by the IVR, never queued
    if lost_by_asterisk(call.end_reason):
        return CallOutcome.FAILED  # Asterisk went away before anyone answered
    if call.state is CallState.ABANDONED:
        return CallOutcome.ABANDONED
    if call.queued_at is None:
        return CallOutcome.IVR_HANGUP
    return CallOutcome.FAILED  # ended while queued, yet not by the caller giving up


def facts(call: Call, cause: DomainEvent | None, emergency_numbers: Collection[str]) -> CallFacts:
    return CallFacts(
        linkedid=call.linkedid,
        started_at=utc(call.started_at),
        outcome=outcome(call, emergency_numbers),
        caller_number=_clip("caller_number", call.caller_number),
        caller_name=_clip("caller_name", call.caller_name),
        ivr_choice=_clip("ivr_choice", call.ivr_choice),
        ivr_label=PLACEHOLDER_LABEL if call.callback else _clip("ivr_label", call.ivr_label),
        queue=_clip("queue", call.queue),
        queued_at=maybe_utc(call.queued_at),
        rang_at=utc(cause.at) if isinstance(cause, AgentRinging) else None,
        answered_at=maybe_utc(call.answered_at),
        ended_at=maybe_utc(call.ended_at),
        agent_extension=_clip("agent_extension", agent_extension(call)),
        agent_name=_clip("agent_name", call.agent_name),
        end_reason=_clip("end_reason", call.end_reason),
        emergency_line=_clip("emergency_line", emergency_line(call, emergency_numbers)),
        survey=parse_answer(call.survey),
        talk_ended_at=maybe_utc(call.agent_left_at),
    )


def events(effect: CallChanged) -> tuple[CallEventFact, ...]:
    """What this change adds to the call's history (a re-sync's revival adds nothing)."""
    call, cause = effect.call, effect.cause
    found: list[CallEventFact] = []
    if isinstance(cause, CallerJoinedQueue):
        found.append(CallEventFact(CallEventKind.QUEUED, utc(cause.at), "", {"queue": cause.queue}))
    elif isinstance(cause, AgentRinging):
        ext = extension_of(cause.interface) or ""
        found.append(CallEventFact(CallEventKind.RINGING, utc(cause.at), ext))
    elif isinstance(cause, AgentAnswered):
        ext = extension_of(cause.interface) or ""
        detail = {"queue": cause.queue, "agent_name": cause.member_name}
        found.append(CallEventFact(CallEventKind.ANSWERED, utc(cause.at), ext, detail))
    elif isinstance(cause, CallHeld):
        kind = CallEventKind.HELD if cause.held else CallEventKind.RESUMED
        by = "" if cause.uniqueid == call.uniqueid else interface_of_channel(cause.channel)
        found.append(CallEventFact(kind, utc(cause.at), extension_of(by) or ""))
    elif isinstance(cause, CallTransferred):
        detail = {"target": cause.target, "kind": cause.kind}
        found.append(
            CallEventFact(CallEventKind.TRANSFERRED, utc(cause.at), agent_extension(call), detail)
        )
    elif isinstance(cause, DialAnswered):  # who took the caller: after a blind transfer, or
        # straight from the IVR (key 9); a trunk's leg (primary or backup) is named
        ext = extension_of(call.transfer_answered_by) or ""
        after_transfer = call.answered_at is not None  # an agent had the caller
        taken: dict[str, Any] = {"after_transfer": after_transfer, "target": call.transfer_target}
        if not ext:
            taken["trunk"] = call.transfer_answered_by
        found.append(CallEventFact(CallEventKind.ANSWERED, utc(cause.at), ext, taken))
    if call.state in FINAL and call.ended_at is not None and effect.previous not in FINAL:
        detail = {"reason": call.end_reason}
        found.append(CallEventFact(CallEventKind.ENDED, utc(call.ended_at), "", detail))
    return tuple(_cleaned(fact) for fact in found)


def _cleaned(fact: CallEventFact) -> CallEventFact:
    detail = {k: clean(v) if isinstance(v, str) else v for k, v in fact.detail.items()}
    return dataclasses.replace(fact, agent=clean(fact.agent), detail=detail)


def update(effect: CallChanged, emergency_numbers: Collection[str]) -> CallUpdate:
    """The report of one tracker effect."""
    call = effect.call
    recording = call.recording if call.answered_at is not None else ""
    return CallUpdate(facts(call, effect.cause, emergency_numbers), events(effect), recording)


# Blanked when the database refuses a report: what the caller's side or an agent's phone
# supplies ("" is "not known": a later report fills it in). The rest is ours or Asterisk's.
def blanked(report: CallUpdate) -> CallUpdate:
    """The report without its free text (the record's and its events' details)."""
    facts = dataclasses.replace(
        report.facts, caller_number="", caller_name="", ivr_label="", agent_name="",
        end_reason="",
    )  # fmt: skip
    events = tuple(dataclasses.replace(e, detail={}) for e in report.events)
    return dataclasses.replace(report, facts=facts, events=events)
