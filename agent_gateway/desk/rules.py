"""What agent desktops are told about calls, built from the tracker's calls (pure, no I/O).

Screen pops, call updates, the call records kept for desktop snapshots, and the presence
inputs that calls and queue-member events mean for each agent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_gateway.desk.presence import (
    AgentPresence,
    Answered,
    CallEnded,
    FoundTalking,
    FoundWrappingUp,
    LoggedIn,
    LoggedOut,
    Paused,
    PresenceInput,
    Ringing,
    TookOver,
    Unpaused,
    WrapUpDone,
)
from agent_gateway.edge.control_commands import CallControlInfo
from agent_gateway.edge.protocol import (
    WRAP_UP_REASON,
    Caller,
    CallUpdate,
    IvrChoice,
    PresenceState,
    ScreenPop,
)
from crm.domain.caller import MAX_CALLER_NAME, CallerSummary
from crm.domain.masking import mask_number
from telephony.call import FINAL, Call, CallChanged, CallState
from telephony.dialplan import DUTY_QUEUE, extension_of
from telephony.events import (
    AgentAnswered,
    AgentRinging,
    AgentRingNoAnswer,
    ChannelHungUp,
    DialAnswered,
    DomainEvent,
    QueueMemberChanged,
    QueueMembersListed,
)

# The order type the IVR choice suggests for the draft order.
ORDER_TYPE_FOR_LABEL = {
    "consult": "consultation",
    "complaint": "complaint",
    "help": "help",
    "operator": "consultation",
}


def caller_of(call: Call, confidential: bool) -> Caller:
    """The caller as desktops show them: the number masked when they asked for confidentiality."""
    number = mask_number(call.caller_number) if confidential else call.caller_number
    return Caller(number=number, name=call.caller_name or None, masked=confidential)


def screen_pop(
    call: Call,
    extension: str,
    ami_ts: float,
    summary: CallerSummary,
) -> ScreenPop:
    """The pop an agent's desktop shows while their phone rings for `call`: the caller's
    orders as the CRM summed them up, the number masked if the summary says so."""
    confidential = summary.confidential
    waited = 0.0 if call.queued_at is None else max(0.0, ami_ts - call.queued_at)
    return ScreenPop(
        call_id=call.linkedid,
        extension=extension,
        caller=caller_of(call, confidential),
        ivr=IvrChoice(choice=call.ivr_choice or None, label=call.ivr_label or None),
        queue=call.queue or None,
        wait_s=round(waited, 3),
        ami_ts=ami_ts,
        history=list(summary.history),
        open_orders=list(summary.open_orders),
        draft_order={
            "call_id": call.linkedid,
            "channel": "phone",
            "order_type": ORDER_TYPE_FOR_LABEL.get(call.ivr_label, "consultation"),
            "caller_name": call.caller_name[:MAX_CALLER_NAME],
            "confidential": confidential,
            "text": "",
        },
        callback=bool(call.callback),
    )


def call_update(
    call: Call,
    at: float,
    confidential: bool,
    recording_paused: bool = False,
    control: CallControlInfo | None = None,
) -> CallUpdate:
    return CallUpdate(
        call_id=call.linkedid,
        state=call.state.value,
        agent_extension=extension_of(call.outcome_owner),  # who has the caller (after a transfer)
        at=at,
        reason=call.end_reason or None,
        caller=caller_of(call, confidential),
        queue=call.queue or None,
        ivr=IvrChoice(choice=call.ivr_choice or None, label=call.ivr_label or None),
        held=call.held or (control is not None and control.held),
        control=control,
        recording_paused=recording_paused,
    )


def call_record(
    call: Call,
    confidential: bool,
    recording_paused: bool = False,
    control: CallControlInfo | None = None,
) -> dict[str, Any]:
    """What a (re)connecting desktop's snapshot says about a live call."""
    caller = caller_of(call, confidential)
    return {
        "call_id": call.linkedid,
        "state": call.state.value,
        "caller_number": caller.number,
        "caller_name": call.caller_name,
        "masked": confidential,
        "queue": call.queue,
        "ivr_label": call.ivr_label,
        "queued_at": call.queued_at,
        "answered_at": call.answered_at,
        "agent_extension": extension_of(call.outcome_owner),
        "ringing_extensions": [e for e in map(extension_of, call.ringing) if e],
        "recording_paused": recording_paused,
        "control": None if control is None else control.model_dump(mode="json"),
    }


def audience(call: Call, presences: Iterable[AgentPresence]) -> set[str]:
    """The agents whose desktops follow this call: who answered it, who it was handed to,
    who rings or rang for it."""
    on_it = {p.extension for p in presences if p.call_id == call.linkedid}
    who = (call.agent_interface, call.outcome_owner, *call.ringing)
    return on_it | {e for e in map(extension_of, who) if e}


def presence_inputs_for_call(
    effect: CallChanged, presences: Iterable[AgentPresence]
) -> list[tuple[str, PresenceInput]]:
    """What a call change means for the agents involved (`presences`: every agent's now)."""
    call, cause = effect.call, effect.cause
    if isinstance(cause, AgentRinging) and call.state is CallState.RINGING:
        ext = extension_of(cause.interface)
        return [(ext, Ringing(call.linkedid))] if ext else []
    if isinstance(cause, AgentAnswered):
        ext = extension_of(cause.interface)
        return [(ext, Answered(call.linkedid))] if ext else []
    if isinstance(cause, DialAnswered) and call.state is CallState.TRANSFERRED:
        ext = extension_of(call.transfer_answered_by)  # who has the caller now, and its outcome
        return [(ext, TookOver(call.linkedid))] if ext and call.active else []
    if call.state in FINAL or _agent_hung_up(effect):
        # Whoever is on this call or ringing for it (the call no longer lists who rang); an
        # agent already wrapping it up (its leg hung up before the caller's) stays so.
        return [
            (p.extension, CallEnded(call.linkedid)) for p in presences
            if p.call_id == call.linkedid and p.state is not PresenceState.WRAP_UP
        ]  # fmt: skip
    return []


def _agent_hung_up(effect: CallChanged) -> bool:
    """The agent's leg hung up, the caller stays (the survey): the agent's part is over."""
    cause = effect.cause
    return (
        isinstance(cause, ChannelHungUp) and cause.uniqueid != effect.call.uniqueid
        and effect.call.in_survey
    )  # fmt: skip


def presence_input_for_ring_no_answer(event: DomainEvent) -> tuple[str, PresenceInput] | None:
    """An agent who let the phone ring out is free again (the call goes on ringing others)."""
    if isinstance(event, AgentRingNoAnswer):
        ext = extension_of(event.interface)
        if ext:
            return ext, CallEnded(event.linkedid)
    return None


def presence_input_for_member(
    event: QueueMemberChanged, presence: AgentPresence, member_of_any_queue: bool
) -> PresenceInput | None:
    """Asterisk's word on queue membership and pauses, as a presence input (or nothing)."""
    if event.removed:
        return None if member_of_any_queue else LoggedOut()
    if presence.state is PresenceState.LOGGED_OUT:
        return LoggedIn()
    if event.paused and event.paused_reason == WRAP_UP_REASON:
        return None  # our own pause while the agent wraps up
    if event.paused and presence.chosen_pause != event.paused_reason:
        return Paused(event.paused_reason or "暂停")
    if not event.paused and presence.chosen_pause is not None:
        return Unpaused()
    return None


@dataclass(frozen=True, slots=True)
class WrapUp:
    """A wrap-up the backend started: Asterisk holds the agent paused (WRAP_UP_REASON) until
    `deadline` (epoch seconds). Kept in Redis, so a restarted backend releases the agent on
    time instead of never (or a whole `max_wrapup_s` late)."""

    call_id: str
    deadline: float

    def to_record(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "deadline": self.deadline}


def wrap_ups_from_records(
    records: Mapping[str, str | bytes],
) -> tuple[dict[str, WrapUp], list[str]]:
    """The wrap-ups read back (JSON by extension), and the extensions whose record is unusable."""
    found: dict[str, WrapUp] = {}
    bad: list[str] = []
    for ext, raw in records.items():
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        call_id = record.get("call_id") if isinstance(record, dict) else None
        deadline = record.get("deadline") if isinstance(record, dict) else None
        if isinstance(call_id, str) and call_id and isinstance(deadline, int | float):
            found[ext] = WrapUp(call_id, float(deadline))
        else:
            bad.append(ext)
    return found, bad


def _members_by_extension(
    listed: QueueMembersListed, extensions: Iterable[str]
) -> dict[str, list[QueueMemberChanged]]:
    by_ext: dict[str, list[QueueMemberChanged]] = {ext: [] for ext in extensions}
    for member in listed.members:
        if not is_login(member):
            continue
        ext = extension_of(member.interface)
        if ext is not None and ext in by_ext:
            by_ext[ext].append(member)
    return by_ext


def is_login(member: QueueMemberChanged) -> bool:
    """Whether a membership is an agent's login (QueueAdd): the duty queue's members are its
    phones, written in queues.conf, whether their agents are logged in or not."""
    return member.queue != DUTY_QUEUE


def memberships(listed: QueueMembersListed, extensions: Iterable[str]) -> dict[str, set[str]]:
    """Queues each known agent is a member of, by Asterisk's own list."""
    return {
        ext: {m.queue for m in entries}
        for ext, entries in _members_by_extension(listed, extensions).items()
    }


def _chosen_pause(entries: Sequence[QueueMemberChanged]) -> str | None:
    """The reason of a pause the agent (or a supervisor) chose, if Asterisk holds one."""
    for m in entries:
        if m.paused and m.paused_reason != WRAP_UP_REASON:
            return m.paused_reason or "暂停"
    return None


def _held_for_wrap_up(entries: Sequence[QueueMemberChanged]) -> bool:
    return any(m.paused and m.paused_reason == WRAP_UP_REASON for m in entries)


def _running(wrap_up: WrapUp | None, now: float) -> WrapUp | None:
    return wrap_up if wrap_up is not None and wrap_up.deadline > now else None


def stale_wrap_up_pauses(
    listed: QueueMembersListed, wrap_ups: Mapping[str, WrapUp], extensions: Iterable[str]
) -> list[str]:
    """Agents Asterisk holds in a wrap-up pause that is over or unknown (the backend that set
    it died with its timer): they are to be unpaused now. A pause they chose stays."""
    return [
        ext
        for ext, entries in _members_by_extension(listed, extensions).items()
        if _held_for_wrap_up(entries)
        and _chosen_pause(entries) is None
        and _running(wrap_ups.get(ext), listed.at) is None
    ]


def _listed_input(
    entries: Sequence[QueueMemberChanged], talking: str | None, wrap_up: WrapUp | None, now: float
) -> PresenceInput | None:
    """What Asterisk's list says the agent is, as the input that takes an available agent there
    (None: available)."""
    if not entries:
        return LoggedOut()
    reason = _chosen_pause(entries)  # on a call: the pause given during it, still pending
    if talking is not None:
        return FoundTalking(talking, reason)
    running = _running(wrap_up, now)
    if running is not None and (reason is not None or _held_for_wrap_up(entries)):
        return FoundWrappingUp(running.call_id, running.deadline, reason)
    if reason is not None:
        return Paused(reason)
    return None  # unpaused, or a stale wrap-up pause that is being lifted


def _is_already(presence: AgentPresence, wanted: PresenceInput | None) -> bool:
    if wanted is None:
        return presence.state is PresenceState.AVAILABLE
    if isinstance(wanted, Paused):
        return presence.state is PresenceState.PAUSED and presence.reason == wanted.reason
    if isinstance(wanted, FoundTalking | FoundWrappingUp):
        return _on_call(presence, wanted) and presence.pending_pause == wanted.pending_pause
    return presence.state is PresenceState.LOGGED_OUT  # LoggedOut


def _on_call(presence: AgentPresence, found: FoundTalking | FoundWrappingUp) -> bool:
    state = PresenceState.TALKING if isinstance(found, FoundTalking) else PresenceState.WRAP_UP
    return presence.state is state and presence.call_id == found.call_id


def _inputs_towards(presence: AgentPresence, wanted: PresenceInput | None) -> list[PresenceInput]:
    """The legal inputs that take `presence` to what Asterisk's list says."""
    if _is_already(presence, wanted):
        return []
    if isinstance(wanted, LoggedOut):
        return [wanted]
    if isinstance(wanted, FoundTalking | FoundWrappingUp) and _on_call(presence, wanted):
        pending = wanted.pending_pause  # the same call: only the pending pause differs
        return [Unpaused() if pending is None else Paused(pending)]
    state = presence.state
    if isinstance(wanted, Paused) and state in (PresenceState.PAUSED, PresenceState.WRAP_UP):
        return [wanted]
    to_available: list[PresenceInput]
    if state is PresenceState.LOGGED_OUT:
        to_available = [LoggedIn()]
    elif state is PresenceState.PAUSED:
        to_available = [Unpaused()]
    elif state is PresenceState.WRAP_UP:
        to_available = [WrapUpDone()]
    elif state is PresenceState.AVAILABLE:
        to_available = []
    else:  # ringing or talking on a call Asterisk no longer has
        to_available = [LoggedOut(), LoggedIn()]
    return to_available if wanted is None else [*to_available, wanted]


def presence_inputs_for_listing(
    listed: QueueMembersListed,
    presences: Mapping[str, AgentPresence],
    calls: Iterable[Call] = (),
    wrap_ups: Mapping[str, WrapUp] | None = None,
) -> list[tuple[str, PresenceInput]]:
    """Bring each agent's presence in line with Asterisk's member list after a (re)connect.

    `calls` are the live calls the tracker re-synced (an agent on one is talking); `wrap_ups`
    the wrap-ups the backend started (an agent Asterisk holds in a wrap-up pause is wrapping
    up until its deadline, or available if it is over or unknown). A pause the agent chose
    is kept with its reason; a member of no queue is logged out.
    """
    talking: dict[str, str] = {}
    for call in calls:
        ext = extension_of(call.outcome_owner)
        if call.state is CallState.TALKING and ext is not None:
            talking[ext] = call.linkedid
    wrap_ups = wrap_ups or {}
    inputs: list[tuple[str, PresenceInput]] = []
    for ext, entries in _members_by_extension(listed, presences).items():
        wanted = _listed_input(entries, talking.get(ext), wrap_ups.get(ext), listed.at)
        inputs += [(ext, step) for step in _inputs_towards(presences[ext], wanted)]
    return inputs
