"""The call tracker: a pure state machine over domain events, one call per Linkedid.

States: in IVR → queued → ringing agent → talking → transferred → ended / abandoned.
`TRANSITIONS` is the whole machine: (event type, state) → how the call changes. Anything not
in the table leaves the call as it is. The tracker does no I/O; it returns `CallChanged`
effects for adapters to carry out.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from telephony.call import (
    CONNECTED,
    FINAL,
    VARIABLE_FIELDS,
    WAITING,
    Call,
    CallChanged,
    CallState,
    Effect,
)
from telephony.dialplan import (
    CONTEXT_AGENTS,
    CONTEXT_CALLBACK_PLACE,
    CONTEXT_INBOUND,
    VAR_EMERGENCY,
    extension_of,
    interface_of_channel,
    main_room,
)
from telephony.events import (
    AgentAnswered,
    AgentCompleted,
    AgentRinging,
    AgentRingNoAnswer,
    CallerAbandonedQueue,
    CallerJoinedQueue,
    CallerLeftQueue,
    CallHeld,
    CallTransferred,
    ChannelCreated,
    ChannelEvent,
    ChannelHungUp,
    ChannelLeftBridge,
    ChannelVariableSet,
    CompleteReason,
    ConferenceJoined,
    ConferenceLeft,
    DialAnswered,
    DomainEvent,
)

Handler = Callable[[Call, Any], Call]

CALLBACK_REQUESTED = "callback requested"  # the end reason of a call that left to be called back
CITIZEN_ANSWERED = "ANSWER"  # the placeholder's dial result once the citizen answered
PLACEHOLDER_UNSERVED = "callback placeholder ended before an agent answered"


# What a call into a queue (from the IVR, or back from call control's rooms) starts afresh.
_AFRESH: dict[str, Any] = {
    "answered_at": None, "agent_interface": "", "agent_name": "", "agent_channel": "",
    "ringing": (), "in_rooms": False, "held": False, "completed_by": "", "transfer_target": "",
    "transfer_answered_by": "", "agent_left_at": None, "consult_target": "", "left_queue": False,
}  # fmt: skip


def _queued(call: Call, e: CallerJoinedQueue) -> Call:
    # a placeholder's ;2 half gets its caller ID (the citizen's number) only once dialled
    number = e.caller_number if call.callback and e.caller_number else call.caller_number
    return dataclasses.replace(
        call, state=CallState.QUEUED, queue=e.queue, queued_at=e.at,
        requeued=call.state in CONNECTED, caller_number=number, **_AFRESH,
    )  # fmt: skip


def _ringing(call: Call, e: AgentRinging) -> Call:
    ringing = call.ringing if e.interface in call.ringing else (*call.ringing, e.interface)
    return dataclasses.replace(call, state=CallState.RINGING, ringing=ringing)


def _no_answer(call: Call, e: AgentRingNoAnswer) -> Call:
    ringing = tuple(i for i in call.ringing if i != e.interface)
    state = CallState.RINGING if ringing else CallState.QUEUED
    return dataclasses.replace(call, state=state, ringing=ringing)


def _forced_end(call: Call, at: float, reason: str) -> Call:
    """A call we end ourselves because Asterisk no longer has it."""
    return dataclasses.replace(call, state=CallState.ENDED, ended_at=at, end_reason=reason,
                               ringing=())  # fmt: skip


def _answered(call: Call, e: AgentAnswered) -> Call:
    return dataclasses.replace(
        call,
        state=CallState.TALKING,
        answered_at=e.at,
        agent_interface=e.interface,
        agent_name=e.member_name,
        agent_channel=e.agent_channel,
        ringing=(),
        queue=e.queue,
        left_queue=False,
    )


def _left(call: Call, e: CallerLeftQueue) -> Call:
    return dataclasses.replace(call, left_queue=True)


def _completed(call: Call, e: AgentCompleted) -> Call:
    if call.in_rooms:
        return call  # Reason=caller for the Redirect into the rooms, whoever ends the call
    if e.reason is CompleteReason.TRANSFER:
        return dataclasses.replace(call, state=CallState.TRANSFERRED, completed_by=e.reason.value)
    # Asterisk 16 says Reason=caller also when the agent's leg was hung up (AMI Hangup):
    # who left the bridge first, if we saw it, is the better witness.
    return dataclasses.replace(call, completed_by=call.completed_by or e.reason.value)


def _left_bridge(call: Call, e: ChannelLeftBridge) -> Call:
    if call.completed_by or call.in_rooms:  # in the rooms: moves between them, not ends
        return call
    return dataclasses.replace(
        call, completed_by="caller" if e.uniqueid == call.uniqueid else "agent"
    )


def _transfer_answered(call: Call, e: DialAnswered) -> Call:
    if e.uniqueid != call.uniqueid:
        return call  # another leg dialled (the agent's own consultation)
    return dataclasses.replace(call, transfer_answered_by=interface_of_channel(e.dest_channel))


def _held(call: Call, e: CallHeld) -> Call:
    return dataclasses.replace(call, held=e.held)


def _transferred(call: Call, e: CallTransferred) -> Call:
    target = e.target or (call.consult_target if e.kind == "attended" else "")
    target = target or call.transfer_target
    return dataclasses.replace(call, state=CallState.TRANSFERRED, transfer_target=target)


def _abandoned(call: Call, e: DomainEvent) -> Call:
    # it left the line to be called back in its turn; a placeholder nobody took (timed out)
    ended = CALLBACK_REQUESTED if call.callback_requested else PLACEHOLDER_UNSERVED
    if call.callback_requested or call.callback:
        return dataclasses.replace(call, state=CallState.ENDED, ended_at=e.at, ringing=(),
                                   end_reason=ended)  # fmt: skip
    reason = "caller hung up while waiting in queue"
    return dataclasses.replace(
        call, state=CallState.ABANDONED, ended_at=e.at, ringing=(), end_reason=reason
    )


def _ended_in_ivr(call: Call, e: ChannelHungUp) -> Call:
    reason = f"refused in IVR: {call.refused}" if call.refused else "caller hung up in IVR"
    return dataclasses.replace(call, state=CallState.ENDED, ended_at=e.at, end_reason=reason)


def _rooms(call: Call, e: ConferenceJoined | ConferenceLeft) -> Call:
    """The caller into its main room: the queue bridge's leaves (the caller's first, by the
    Redirect) said nothing about who ends the call. Out of it first (a queue starts afresh):
    the caller ended it, whoever ConfBridge drops after it (the agent's Hangup may come first)."""
    if e.uniqueid != call.uniqueid or e.conference != main_room(call.linkedid):
        return call
    if isinstance(e, ConferenceLeft):
        return dataclasses.replace(call, completed_by=call.completed_by or "caller")
    return call if call.in_rooms else dataclasses.replace(call, in_rooms=True, completed_by="")


def _agent_leg(call: Call, e: ChannelHungUp) -> bool:
    """The answering agent's leg hung up while it had the caller: in the rooms, or in the
    queue's bridge (talking: an attended transfer's start only moves the leg to another
    bridge, and its end is a transfer first)."""
    return (
        bool(call.agent_channel)
        and e.channel == call.agent_channel
        and (call.in_rooms or call.state is CallState.TALKING)
    )


def _ended_after_talk(call: Call, e: ChannelHungUp) -> Call:
    if e.uniqueid != call.uniqueid:  # the agent's leg: the agent ended its part
        by = call.completed_by or "agent"
        if call.in_rooms:
            return dataclasses.replace(call, completed_by=by)
        # the caller stays for the survey: the talk is over
        return dataclasses.replace(call, completed_by=by, agent_left_at=e.at)
    if call.answered_at is None:  # key 9: the caller talked to (or tried) the emergency line
        reason = f"sent by the IVR to {call.transfer_target}"
    else:
        reason = f"hung up by {call.completed_by or 'caller'}"
    if call.callback:  # the callback's result first: its record says whether it reached
        result = call.callback_result
        got = "reached" if result == CITIZEN_ANSWERED else f"not reached ({result or 'NOANSWER'})"
        reason = f"callback {got}; {reason}"
    return dataclasses.replace(call, state=CallState.ENDED, ended_at=e.at, end_reason=reason)


def _variable(call: Call, e: ChannelVariableSet) -> Call:
    if e.name == VAR_EMERGENCY and call.state is CallState.IN_IVR:
        return _sent_to_emergency(call, e.value)
    field = VARIABLE_FIELDS.get(e.name)
    changes: dict[str, Any] = {} if field is None else {field: e.value}
    return dataclasses.replace(call, **changes)


def _sent_to_emergency(call: Call, line: str) -> Call:
    """Key 9: the dialplan dials the line at once. The call is with 110 as after a blind
    transfer there (the wall and the desk show it so), never in the fallback queue the
    dialplan named before the IVR ran."""
    return dataclasses.replace(call, state=CallState.TRANSFERRED, transfer_target=line, queue="")


_ACTIVE = tuple(s for s in CallState if s not in FINAL)

TRANSITIONS: Mapping[tuple[type[DomainEvent], CallState], Handler] = {
    **{(CallerJoinedQueue, s): _queued for s in (CallState.IN_IVR, *WAITING, *CONNECTED)},
    **{(AgentRinging, s): _ringing for s in WAITING},
    (AgentRingNoAnswer, CallState.RINGING): _no_answer,
    **{(AgentAnswered, s): _answered for s in WAITING},
    **{(AgentCompleted, s): _completed for s in CONNECTED},
    # AgentComplete (Reason=transfer) may come first: the transfer event still names the target
    **{(CallTransferred, s): _transferred for s in CONNECTED},
    **{(CallHeld, s): _held for s in CONNECTED},
    # which leg took the caller: after a transfer, or straight from the IVR (key 9)
    (DialAnswered, CallState.TRANSFERRED): _transfer_answered,
    (ChannelLeftBridge, CallState.TALKING): _left_bridge,
    **{(kind, CallState.TALKING): _rooms for kind in (ConferenceJoined, ConferenceLeft)},
    **{(CallerAbandonedQueue, s): _abandoned for s in WAITING},
    **{(CallerLeftQueue, s): _left for s in WAITING},
    (ChannelHungUp, CallState.IN_IVR): _ended_in_ivr,
    **{(ChannelHungUp, s): _abandoned for s in WAITING},
    **{(ChannelHungUp, s): _ended_after_talk for s in CONNECTED},
    **{(ChannelVariableSet, s): _variable for s in _ACTIVE},
}


class CallTracker:
    """Live calls by Linkedid, plus the most recent ended ones (for re-sync and queries)."""

    def __init__(self, inbound_context: str = CONTEXT_INBOUND, keep_ended: int = 1000) -> None:
        self.inbound_context = inbound_context
        self.calls: dict[str, Call] = {}
        self.ended: OrderedDict[str, Call] = OrderedDict()
        self.keep_ended = keep_ended
        self.ignored = 0  # events that matched no transition (counted, not errors)

    def get(self, linkedid: str) -> Call | None:
        return self.calls.get(linkedid) or self.ended.get(linkedid)

    def apply(self, event: DomainEvent) -> list[Effect]:
        if isinstance(event, ChannelCreated):
            return self._created(event)
        if not isinstance(event, ChannelEvent):
            return []
        call = self.calls.get(event.linkedid)
        if call is None:
            self.ignored += 1
            return []
        if (
            isinstance(event, ChannelHungUp) and event.uniqueid != call.uniqueid
            and not _agent_leg(call, event)
        ):  # fmt: skip
            return []  # another leg of the call (agent, transfer target) ended
        handler = TRANSITIONS.get((type(event), call.state))
        if handler is None:
            self.ignored += 1
            return []
        changed = handler(call, event)
        if changed == call:
            return []  # nothing new for anyone (a repeated variable, a second bridge leave)
        return self._store(changed, call.state, event)

    def handed_to(self, linkedid: str, interface: str) -> Call | None:
        """A warm transfer completed to another agent (or a three-party call it was left in):
        it has the caller now and gives the call its outcome (`outcome_owner`), as after a
        blind transfer. Told by call control (its rooms). None for a call not live."""
        call = self.calls.get(linkedid)
        if call is None or not call.active:
            return None
        taken = dataclasses.replace(
            call, transfer_target=extension_of(interface) or "", transfer_answered_by=interface
        )
        self.calls[linkedid] = taken
        return taken

    def left_last(self, linkedid: str, who: str) -> None:
        """The last one with the caller under call control (`who`: agent, transfer target
        110…) left; the backend ends the call: its end reason ("hung up by …")."""
        call = self.calls.get(linkedid)
        if call is not None and call.active and call.completed_by != "caller":  # it left first
            self.calls[linkedid] = dataclasses.replace(call, completed_by=who)

    def connection_lost(self, at: float, reason: str) -> list[Effect]:
        """Asterisk is gone (it runs beside us, so a lost link means a crash or stop)."""
        effects = []
        for call in list(self.calls.values()):
            ended = _forced_end(call, at, f"asterisk connection lost: {reason}")
            effects += self._store(ended, call.state, None)
        return effects

    def resync(self, live: Mapping[str, Call], at: float) -> list[Effect]:
        """Make our calls match Asterisk's after a (re)connect: Asterisk is the truth."""
        effects = []
        for linkedid, call in list(self.calls.items()):
            if linkedid not in live:
                gone = _forced_end(call, at, "not found in Asterisk after re-sync")
                effects += self._store(gone, call.state, None)
        for linkedid, seen in live.items():
            known = self.calls.get(linkedid) or self.ended.pop(linkedid, None)
            if known is None:
                effects += self._store(seen, None, None)
            elif known.state != seen.state or not known.active:
                merged = dataclasses.replace(
                    known,
                    state=seen.state,
                    ended_at=None,
                    end_reason="",
                    queue=seen.queue or known.queue,
                    queued_at=known.queued_at if known.queued_at is not None else seen.queued_at,
                    answered_at=known.answered_at or seen.answered_at,
                    agent_interface=known.agent_interface or seen.agent_interface,
                    agent_name=known.agent_name or seen.agent_name,
                    agent_channel=known.agent_channel or seen.agent_channel,
                    in_rooms=known.in_rooms or seen.in_rooms,
                    recording=known.recording or seen.recording,
                )
                effects += self._store(merged, known.state, None)
        return effects

    def _created(self, e: ChannelCreated) -> list[Effect]:
        if e.context == CONTEXT_CALLBACK_PLACE and e.channel.startswith("Local/"):
            return self._placeholder(e)
        if e.uniqueid != e.linkedid:
            self._consulting(e)
            return []
        if e.context != self.inbound_context:
            return []
        if e.linkedid in self.calls:
            return []  # already known from a re-sync snapshot
        call = Call(linkedid=e.linkedid, uniqueid=e.uniqueid, channel=e.channel,
                    caller_number=e.caller_number, caller_name=e.caller_name,
                    started_at=e.at)  # fmt: skip
        return self._store(call, None, e)

    def _placeholder(self, e: ChannelCreated) -> list[Effect]:
        """A callback's placeholder: its half in the callback context (exten = the request)
        waits in the queue in the caller's place, so it is the call's "caller"; the half the
        backend originated (Uniqueid = Linkedid) dials the citizen once an agent answered."""
        if e.uniqueid == e.linkedid or e.linkedid in self.calls or not e.exten.isdigit():
            return []
        call = Call(linkedid=e.linkedid, uniqueid=e.uniqueid, channel=e.channel,
                    caller_number=e.caller_number, caller_name=e.caller_name,
                    started_at=e.at, callback=e.exten)  # fmt: skip
        return self._store(call, None, e)

    def _consulting(self, e: ChannelCreated) -> None:
        """The agent's Atxfer dialling an extension (a Local channel into the agents' context)
        for a talking call: kept quietly, for its transfer's target (`_transferred`)."""
        call = self.calls.get(e.linkedid)
        if (
            call is not None and call.state is CallState.TALKING
            and e.channel.startswith("Local/") and e.context == CONTEXT_AGENTS and e.exten
        ):  # fmt: skip
            self.calls[e.linkedid] = dataclasses.replace(call, consult_target=e.exten)

    def _store(
        self, call: Call, previous: CallState | None, cause: DomainEvent | None
    ) -> list[Effect]:
        if call.active:
            self.calls[call.linkedid] = call
        else:
            self.calls.pop(call.linkedid, None)
            self.ended[call.linkedid] = call
            while len(self.ended) > self.keep_ended:
                self.ended.popitem(last=False)
        return [CallChanged(call, previous, cause)]
