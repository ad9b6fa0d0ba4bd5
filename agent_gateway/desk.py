"""What agent desktops are told about calls, built from the tracker's calls (pure, no I/O).

Screen pops, call updates, the call records kept for desktop snapshots, and the presence
inputs that calls and queue-member events mean for each agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agent_gateway.presence import (
    AgentPresence,
    Answered,
    CallEnded,
    LoggedIn,
    LoggedOut,
    Paused,
    PresenceInput,
    Ringing,
    Unpaused,
)
from agent_gateway.protocol import Caller, CallUpdate, IvrChoice, PresenceState, ScreenPop
from crm.domain.masking import mask_number
from telephony.events import (
    AgentAnswered,
    AgentRinging,
    AgentRingNoAnswer,
    DomainEvent,
    QueueMemberChanged,
    QueueMembersListed,
)
from telephony.tracker import FINAL, Call, CallChanged, CallState

# The reason the backend pauses an agent's queue membership while they wrap up a call, so
# that Asterisk does not ring them; it is not a pause the agent chose.
WRAP_UP_REASON = "wrap-up"

MAX_ORDER_NAME = 100  # the CRM's limit on a caller's name

# The order type the IVR choice suggests for the draft order.
ORDER_TYPE_FOR_LABEL = {
    "consult": "consultation",
    "complaint": "complaint",
    "help": "help",
    "operator": "consultation",
}


def extension_of(interface: str) -> str | None:
    """PJSIP/1001 → 1001; None for anything that is not an agent's phone."""
    tech, _, resource = interface.partition("/")
    return resource if tech == "PJSIP" and resource.isdigit() else None


def caller_of(call: Call, confidential: bool) -> Caller:
    """The caller as desktops show them: the number masked when they asked for confidentiality."""
    number = mask_number(call.caller_number) if confidential else call.caller_number
    return Caller(number=number, name=call.caller_name or None, masked=confidential)


def screen_pop(
    call: Call,
    extension: str,
    ami_ts: float,
    history: Sequence[dict[str, Any]],
    confidential: bool,
) -> ScreenPop:
    """The pop an agent's desktop shows while their phone rings for `call`."""
    open_orders = [h for h in history if h.get("status") not in ("closed", "not_accepted")]
    waited = 0.0 if call.queued_at is None else max(0.0, ami_ts - call.queued_at)
    return ScreenPop(
        call_id=call.linkedid,
        extension=extension,
        caller=caller_of(call, confidential),
        ivr=IvrChoice(choice=call.ivr_choice or None, label=call.ivr_label or None),
        queue=call.queue or None,
        wait_s=round(waited, 3),
        ami_ts=ami_ts,
        history=list(history),
        open_orders=open_orders,
        draft_order={
            "call_id": call.linkedid,
            "channel": "phone",
            "order_type": ORDER_TYPE_FOR_LABEL.get(call.ivr_label, "consultation"),
            "caller_name": call.caller_name[:MAX_ORDER_NAME],
            "confidential": confidential,
            "text": "",
        },
    )


def call_update(call: Call, at: float, confidential: bool) -> CallUpdate:
    return CallUpdate(
        call_id=call.linkedid,
        state=call.state.value,
        agent_extension=extension_of(call.agent_interface),
        at=at,
        reason=call.end_reason or None,
        caller=caller_of(call, confidential),
        queue=call.queue or None,
        ivr=IvrChoice(choice=call.ivr_choice or None, label=call.ivr_label or None),
        held=call.held,
    )


def call_record(call: Call, confidential: bool) -> dict[str, Any]:
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
        "agent_extension": extension_of(call.agent_interface),
        "ringing_extensions": [e for e in map(extension_of, call.ringing) if e],
    }


def audience(call: Call, presences: Iterable[AgentPresence]) -> set[str]:
    """The agents whose desktops follow this call: who answered it, who rings or rang for it."""
    on_it = {p.extension for p in presences if p.call_id == call.linkedid}
    return on_it | {e for e in map(extension_of, (call.agent_interface, *call.ringing)) if e}


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
    if call.state in FINAL:
        # Whoever is on this call or ringing for it (the call no longer lists who rang).
        return [
            (p.extension, CallEnded(call.linkedid)) for p in presences if p.call_id == call.linkedid
        ]
    return []


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
    if event.paused and (
        presence.state is not PresenceState.PAUSED or presence.reason != event.paused_reason
    ):
        return Paused(event.paused_reason or "暂停")
    if not event.paused and presence.state is PresenceState.PAUSED:
        return Unpaused()
    return None


def memberships(listed: QueueMembersListed, extensions: Iterable[str]) -> dict[str, set[str]]:
    """Queues each known agent is a member of, by Asterisk's own list."""
    members: dict[str, set[str]] = {ext: set() for ext in extensions}
    for member in listed.members:
        ext = extension_of(member.interface)
        if ext is not None and ext in members:
            members[ext].add(member.queue)
    return members


def presence_inputs_for_listing(
    listed: QueueMembersListed, presences: Mapping[str, AgentPresence]
) -> list[tuple[str, PresenceInput]]:
    """Bring each agent's presence in line with Asterisk's member list after a (re)connect."""
    by_ext: dict[str, list[QueueMemberChanged]] = {}
    for member in listed.members:
        ext = extension_of(member.interface)
        if ext is not None and ext in presences:
            by_ext.setdefault(ext, []).append(member)
    inputs: list[tuple[str, PresenceInput]] = []
    for ext, presence in presences.items():
        entries = by_ext.get(ext, [])
        if not entries:
            if presence.state is not PresenceState.LOGGED_OUT:
                inputs.append((ext, LoggedOut()))
            continue
        if presence.state is PresenceState.LOGGED_OUT:
            inputs.append((ext, LoggedIn()))
        paused = [m for m in entries if m.paused and m.paused_reason != WRAP_UP_REASON]
        if paused and presence.reason != paused[0].paused_reason:
            inputs.append((ext, Paused(paused[0].paused_reason or "暂停")))
        elif not paused and presence.state is PresenceState.PAUSED:
            inputs.append((ext, Unpaused()))
    return inputs
