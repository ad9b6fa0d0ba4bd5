"""The items of Asterisk's lists, read at every re-sync (pure): channels (`CoreShowChannels`),
waiting callers and queue members (`QueueStatus`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from telephony.ami_headers import MalformedEvent, integer, known, required
from telephony.events import QueueMemberChanged


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """One channel as `CoreShowChannels` lists it."""

    uniqueid: str
    linkedid: str
    channel: str
    context: str
    application: str
    bridge_id: str
    caller_number: str
    caller_name: str
    duration_s: int


@dataclass(frozen=True, slots=True)
class QueueEntrySnapshot:
    """One waiting caller as `QueueStatus` lists it."""

    queue: str
    uniqueid: str
    wait_s: int


def _duration(value: str) -> int:
    """CoreShowChannel's Duration, HH:MM:SS, in seconds."""
    try:
        hours, minutes, seconds = (int(part) for part in value.split(":"))
    except ValueError:
        raise MalformedEvent(f"bad Duration {value[:40]!r}") from None
    return hours * 3600 + minutes * 60 + seconds


def channel_snapshot(h: Mapping[str, str]) -> ChannelSnapshot:
    """One `CoreShowChannel` list item."""
    return ChannelSnapshot(
        uniqueid=required(h, "Uniqueid"),
        linkedid=required(h, "Linkedid"),
        channel=required(h, "Channel"),
        context=h.get("Context", ""),
        application=h.get("Application", ""),
        bridge_id=h.get("BridgeId", ""),
        caller_number=known(h.get("CallerIDNum")),
        caller_name=known(h.get("CallerIDName")),
        duration_s=_duration(h.get("Duration", "00:00:00")),
    )


def queue_entry_snapshot(h: Mapping[str, str]) -> QueueEntrySnapshot:
    """One `QueueEntry` item of a `QueueStatus` list."""
    return QueueEntrySnapshot(
        queue=required(h, "Queue"), uniqueid=required(h, "Uniqueid"), wait_s=integer(h, "Wait")
    )


def queue_member_snapshot(h: Mapping[str, str], at: float) -> QueueMemberChanged:
    """One `QueueMember` item of a `QueueStatus` list (it names the interface `Location`)."""
    return QueueMemberChanged(
        at=at,
        queue=required(h, "Queue"),
        interface=required(h, "Location"),
        member_name=h.get("Name", ""),
        status=integer(h, "Status"),
        paused=h.get("Paused") == "1",
        paused_reason=h.get("PausedReason", ""),
        in_call=h.get("InCall") == "1",
    )
