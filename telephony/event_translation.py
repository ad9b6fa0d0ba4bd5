"""The pure translation of AMI events into the domain events of `events.py`.

The rest of the backend never sees AMI header names: `translate` is the one place that knows
them. An event we do not use translates to None; an event missing what we need raises
`MalformedEvent` (`ami_headers.py`), which the consumer logs and skips.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from telephony.ami_headers import MalformedEvent, integer, known, required, timestamp
from telephony.dialplan import CHANNEL_VARIABLE_PREFIX, EVENT_TRUNK_FAILED
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
    ChannelHungUp,
    ChannelLeftBridge,
    ChannelRinging,
    ChannelVariableSet,
    CompleteReason,
    ConferenceJoined,
    ConferenceLeft,
    ConferenceMuted,
    ContactStatusChanged,
    DialAnswered,
    DialFailed,
    DialStarted,
    DomainEvent,
    QueueMemberChanged,
    SpyEvent,
    TrunksFailed,
)

_ChannelFields = tuple[float, str, str, str]
_AgentFields = tuple[float, str, str, str, str, str, str, str]


def _channel(h: Mapping[str, str]) -> _ChannelFields:
    """ChannelEvent's fields in order: at, linkedid, uniqueid, channel."""
    return timestamp(h), required(h, "Linkedid"), required(h, "Uniqueid"), required(h, "Channel")


def _agent(h: Mapping[str, str]) -> _AgentFields:
    """AgentEvent's fields in order: the channel's, then queue, interface, member, agent leg."""
    return (
        *_channel(h),
        required(h, "Queue"),
        required(h, "Interface"),
        h.get("MemberName", ""),
        h.get("DestChannel", ""),
    )


def _newchannel(h: Mapping[str, str]) -> ChannelCreated:
    return ChannelCreated(
        *_channel(h),
        caller_number=known(h.get("CallerIDNum")),
        caller_name=known(h.get("CallerIDName")),
        context=h.get("Context", ""),
        exten=h.get("Exten", ""),
    )


def _varset(h: Mapping[str, str]) -> ChannelVariableSet | None:
    name = required(h, "Variable")
    if not name.startswith(CHANNEL_VARIABLE_PREFIX):
        return None
    return ChannelVariableSet(*_channel(h), name=name, value=h.get("Value", ""))


def _hangup(h: Mapping[str, str]) -> ChannelHungUp:
    return ChannelHungUp(
        *_channel(h),
        cause=integer(h, "Cause"),
        cause_text=h.get("Cause-txt", ""),
    )


def _complete(h: Mapping[str, str]) -> AgentCompleted | None:
    if "Uniqueid" not in h:
        # Asterisk 16 trap: app_queue looks the channels up only when it handles the hang-up;
        # when the caller's is already destroyed (under load, or after the agent's leg was
        # hung up) the event comes without it (and often without the agent's). Nothing is
        # lost: the caller's Hangup and the BridgeLeave carry the same facts.
        return None
    reason = h.get("Reason", "")
    try:
        parsed = CompleteReason(reason)
    except ValueError:
        raise MalformedEvent(f"AgentComplete with Reason={reason[:40]!r}") from None
    return AgentCompleted(*_agent(h), reason=parsed, talk_time_s=integer(h, "TalkTime"))


def _dial_end(h: Mapping[str, str]) -> DialAnswered | DialFailed | None:
    if "Uniqueid" not in h:
        return None  # an Originate's dial (no calling channel)
    status = h.get("DialStatus", "")
    if status == "ANSWER":
        return DialAnswered(*_channel(h), dest_channel=required(h, "DestChannel"))
    return DialFailed(*_channel(h), dest_channel=required(h, "DestChannel"), status=status)


def _dial_begin(h: Mapping[str, str]) -> DialStarted | None:
    if "Uniqueid" not in h:
        return None
    return DialStarted(
        *_channel(h),
        dest_channel=required(h, "DestChannel"),
        dest_uniqueid=required(h, "DestUniqueid"),
    )


def _user_event(h: Mapping[str, str]) -> TrunksFailed | None:
    if h.get("UserEvent") != EVENT_TRUNK_FAILED or "Uniqueid" not in h:
        return None
    return TrunksFailed(
        *_channel(h), number=h.get("Number", ""), skipped=_count(h.get("Skipped", ""))
    )


def _count(value: str) -> int:
    return int(value) if value.strip().isdigit() else 0


def _contact_status(h: Mapping[str, str]) -> ContactStatusChanged:
    rtt = h.get("RoundtripUsec", "").strip()
    return ContactStatusChanged(
        at=timestamp(h),
        aor=required(h, "AOR"),
        status=required(h, "ContactStatus"),
        rtt_us=int(rtt) if rtt.isdigit() and int(rtt) > 0 else None,
    )


def _conference(h: Mapping[str, str]) -> tuple[float, str, str, str, str]:
    return (*_channel(h), required(h, "Conference"))


def _member(h: Mapping[str, str], removed: bool = False) -> QueueMemberChanged:
    return QueueMemberChanged(
        at=timestamp(h),
        queue=required(h, "Queue"),
        interface=required(h, "Interface"),
        member_name=h.get("MemberName", ""),
        status=integer(h, "Status"),
        paused=h.get("Paused") == "1",
        paused_reason=h.get("PausedReason", ""),
        in_call=h.get("InCall") == "1",
        removed=removed,
    )


def _transfer(h: Mapping[str, str], party: str, kind: str, target: str) -> CallTransferred:
    """The caller's side of a transfer, named by the event's `party` headers."""
    return CallTransferred(
        at=timestamp(h),
        linkedid=required(h, f"{party}Linkedid"),
        uniqueid=required(h, f"{party}Uniqueid"),
        channel=required(h, f"{party}Channel"),
        kind=kind,
        target=target,
    )


def _blind(h: Mapping[str, str]) -> CallTransferred:
    return _transfer(h, "Transferee", "blind", h.get("Extension", ""))


def _attended(h: Mapping[str, str]) -> CallTransferred:
    return _transfer(h, "OrigTransferer", "attended", _attended_target(h))


def _attended_target(h: Mapping[str, str]) -> str:
    """The extension an attended transfer reached: the target channel's (Atxfer's
    Local/110@…), or the one a phone's own transfer (a second call) dialled. "" when the agent
    hung up before the target answered (a "blond" transfer): Asterisk names no target channel
    then, and the second transferer is the agent's own leg again, its Exten the caller's (the
    centre's number); the tracker knows the Atxfer's extension (`Call.consult_target`)."""
    if target := h.get("TransferTargetExten"):
        return target
    if h.get("SecondTransfererUniqueid") == h.get("OrigTransfererUniqueid"):
        return ""
    return h.get("SecondTransfererExten", "")


def _spy(h: Mapping[str, str], started: bool) -> SpyEvent:
    return SpyEvent(
        at=timestamp(h),
        spyer_uniqueid=required(h, "SpyerUniqueid"),
        spyer_channel=required(h, "SpyerChannel"),
        spyee_uniqueid=h.get("SpyeeUniqueid", ""),  # ChanSpyStop of a spyee gone: none
        spyee_channel=h.get("SpyeeChannel", ""),
        started=started,
    )


_TRANSLATORS: dict[str, Callable[[Mapping[str, str]], DomainEvent | None]] = {
    "Newchannel": _newchannel,
    "VarSet": _varset,
    "Hangup": _hangup,
    "QueueCallerJoin": lambda h: CallerJoinedQueue(
        *_channel(h),
        queue=required(h, "Queue"),
        position=integer(h, "Position"),
        caller_number=known(h.get("CallerIDNum")),
    ),
    "QueueCallerLeave": lambda h: CallerLeftQueue(*_channel(h), queue=required(h, "Queue")),
    "QueueCallerAbandon": lambda h: CallerAbandonedQueue(
        *_channel(h), queue=required(h, "Queue"), hold_time_s=integer(h, "HoldTime")
    ),
    "AgentCalled": lambda h: AgentRinging(*_agent(h)),
    "AgentRingNoAnswer": lambda h: AgentRingNoAnswer(*_agent(h)),
    "AgentConnect": lambda h: AgentAnswered(
        *_agent(h), hold_time_s=integer(h, "HoldTime"), ring_time_s=integer(h, "RingTime")
    ),
    "AgentComplete": _complete,
    "BridgeLeave": lambda h: ChannelLeftBridge(*_channel(h)),
    "DialEnd": _dial_end,
    "DialBegin": _dial_begin,
    "UserEvent": _user_event,
    "ContactStatus": _contact_status,
    "ConfbridgeJoin": lambda h: ConferenceJoined(*_conference(h)),
    "ConfbridgeLeave": lambda h: ConferenceLeft(*_conference(h)),
    "ConfbridgeMute": lambda h: ConferenceMuted(*_conference(h), muted=True),
    "ConfbridgeUnmute": lambda h: ConferenceMuted(*_conference(h), muted=False),
    "Hold": lambda h: CallHeld(*_channel(h), held=True),
    "Unhold": lambda h: CallHeld(*_channel(h), held=False),
    "BlindTransfer": _blind,
    "AttendedTransfer": _attended,
    "Newstate": lambda h: ChannelRinging(*_channel(h)) if h.get("ChannelState") == "5" else None,
    "ChanSpyStart": lambda h: _spy(h, started=True),
    "ChanSpyStop": lambda h: _spy(h, started=False),
    "QueueMemberStatus": _member,
    "QueueMemberAdded": _member,
    "QueueMemberPause": _member,
    "QueueMemberRemoved": lambda h: _member(h, removed=True),
}


def translate(name: str, headers: Mapping[str, str]) -> DomainEvent | None:
    """The domain event for one AMI event, None if we have no use for it."""
    translator = _TRANSLATORS.get(name)
    return None if translator is None else translator(headers)
