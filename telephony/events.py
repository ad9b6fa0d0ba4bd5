"""Typed, frozen domain events: what the backend knows of Asterisk's AMI events.

`event_translation.py` makes them from AMI events (the one place that knows AMI header names);
the items of Asterisk's lists (channels, queue entries and members at a re-sync) are read in
`list_items.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    caller_number: str = ""  # a callback's placeholder has its caller ID from here on


@dataclass(frozen=True, slots=True)
class CallerLeftQueue(ChannelEvent):
    """QueueCallerLeave: out of the queue (answered, or into the queue's keys context)."""

    queue: str


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
