"""Typed, frozen domain events, and the pure translation of AMI events into them.

The rest of the backend never sees AMI header names: `translate` is the one place that knows
them. An event we do not use translates to None; an event missing what we need raises
`MalformedEvent` (`ami_headers.py`), which the consumer logs and skips. The items of Asterisk's
lists (channels, queue entries and members at a re-sync) are read in `list_items.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from telephony.ami_headers import MalformedEvent, integer, known, required, timestamp
from telephony.dialplan import CHANNEL_VARIABLE_PREFIX, EVENT_TRUNK_FAILED


@dataclass(frozen=True, slots=True)
class DomainEvent:
    at: float  # Asterisk's own Timestamp header (timestampevents=yes)


@dataclass(frozen=True, slots=True)
class ChannelEvent(DomainEvent):
    linkedid: str
    uniqueid: str
    channel: str


@dataclass(frozen=True, slots=True)
class ChannelCreated(ChannelEvent):
    caller_number: str
    caller_name: str
    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class ChannelVariableSet(ChannelEvent):
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ChannelHungUp(ChannelEvent):
    cause: int
    cause_text: str


@dataclass(frozen=True, slots=True)
class CallerJoinedQueue(ChannelEvent):
    queue: str
    position: int


@dataclass(frozen=True, slots=True)
class CallerAbandonedQueue(ChannelEvent):
    queue: str
    hold_time_s: int


@dataclass(frozen=True, slots=True)
class AgentEvent(ChannelEvent):
    """A queue event about one agent and the caller's channel (`channel`/`uniqueid`)."""

    queue: str
    interface: str
    member_name: str
    agent_channel: str


@dataclass(frozen=True, slots=True)
class AgentRinging(AgentEvent):
    pass


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(AgentEvent):
    pass


@dataclass(frozen=True, slots=True)
class AgentAnswered(AgentEvent):
    hold_time_s: int
    ring_time_s: int


class CompleteReason(StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    TRANSFER = "transfer"


@dataclass(frozen=True, slots=True)
class AgentCompleted(AgentEvent):
    reason: CompleteReason
    talk_time_s: int


@dataclass(frozen=True, slots=True)
class CallTransferred(ChannelEvent):
    """A blind or attended transfer of the call that `linkedid` names."""

    kind: str
    target: str


@dataclass(frozen=True, slots=True)
class DialAnswered(ChannelEvent):
    """`channel` dialled `dest_channel` and it answered (a queue member, or after a blind
    transfer the dialplan's Dial to the target: the agent or trunk who takes the caller)."""

    dest_channel: str


@dataclass(frozen=True, slots=True)
class DialStarted(ChannelEvent):
    """`channel` started dialling `dest_channel` (its INVITE is on the way)."""

    dest_channel: str
    dest_uniqueid: str


@dataclass(frozen=True, slots=True)
class DialFailed(ChannelEvent):
    """`channel`'s dial of `dest_channel` ended unanswered: BUSY, CONGESTION (a 503),
    NOANSWER, CHANUNAVAIL, CANCEL…"""

    dest_channel: str
    status: str


@dataclass(frozen=True, slots=True)
class TrunksFailed(ChannelEvent):
    """The dialplan tried every trunk of an emergency line and none answered (`skipped`:
    how many of its legs it did not dial, known unreachable)."""

    number: str
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class ContactStatusChanged(DomainEvent):
    """A contact's state as res_pjsip's qualify found it (ContactStatus): `status` is
    Reachable, Unreachable, Unknown, NonQualified, Created, Removed or Updated; `rtt_us` the
    OPTIONS' round trip (None when not measured)."""

    aor: str
    status: str
    rtt_us: int | None


@dataclass(frozen=True, slots=True)
class ConferenceJoined(ChannelEvent):
    """A channel entered a ConfBridge room (the call-control rooms)."""

    conference: str


@dataclass(frozen=True, slots=True)
class ConferenceLeft(ChannelEvent):
    conference: str


@dataclass(frozen=True, slots=True)
class ConferenceMuted(ChannelEvent):
    """A room member's audio into the room muted (muted=True) or unmuted."""

    conference: str
    muted: bool


@dataclass(frozen=True, slots=True)
class ChannelLeftBridge(ChannelEvent):
    """A channel left a bridge: the first to leave a two-party call is the one who ended it."""


@dataclass(frozen=True, slots=True)
class CallHeld(ChannelEvent):
    """A party of the call put it on hold (held=True) or took it off (held=False)."""

    held: bool


@dataclass(frozen=True, slots=True)
class ChannelRinging(ChannelEvent):
    """Newstate to Ringing: the far end of an outgoing channel (a phone) rings."""


@dataclass(frozen=True, slots=True)
class SpyEvent(DomainEvent):
    """ChanSpyStart (`started`) or ChanSpyStop: the spy channel is in no bridge, so these
    are the only sign that it listens to (or stopped listening to) the spied channel."""

    spyer_uniqueid: str
    spyer_channel: str
    spyee_uniqueid: str
    spyee_channel: str
    started: bool


@dataclass(frozen=True, slots=True)
class QueueMemberChanged(DomainEvent):
    queue: str
    interface: str
    member_name: str
    status: int
    paused: bool
    paused_reason: str
    in_call: bool
    removed: bool = False


@dataclass(frozen=True, slots=True)
class QueueMembersListed(DomainEvent):
    """Every queue member as `QueueStatus` listed them after a (re)connect: the whole truth."""

    members: tuple[QueueMemberChanged, ...]


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


def _blind(h: Mapping[str, str]) -> CallTransferred:
    return CallTransferred(
        at=timestamp(h),
        linkedid=required(h, "TransfereeLinkedid"),
        uniqueid=required(h, "TransfereeUniqueid"),
        channel=required(h, "TransfereeChannel"),
        kind="blind",
        target=h.get("Extension", ""),
    )


def _attended(h: Mapping[str, str]) -> CallTransferred:
    return CallTransferred(
        at=timestamp(h),
        linkedid=required(h, "OrigTransfererLinkedid"),
        uniqueid=required(h, "OrigTransfererUniqueid"),
        channel=required(h, "OrigTransfererChannel"),
        kind="attended",
        target=h.get("SecondTransfererExten", ""),
    )


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
        *_channel(h), queue=required(h, "Queue"), position=integer(h, "Position")
    ),
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
