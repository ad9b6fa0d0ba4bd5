"""What the centre keeps of every call: how it ended, the desk's disposition, its recordings.

Pure names and labels shared by the call log, the desk, the recordings and the API. An
answered call ends with a work order or one of these dispositions (no answered call without
an outcome); a recording moves through `RecordingStatus` as it is checked, compressed, later
verified again and finally removed by retention.
"""

import re
from enum import StrEnum

# The name MixMonitor gives a call's recording (telephony.asterisk_config's dialplan), relative
# to the recordings directory: the day directory and the caller channel's UNIQUEID. Nothing
# else is a recording name, so no name can point outside that directory.
RECORDING_NAME = r"[0-9]{8}/[0-9]{1,20}\.[0-9]{1,20}\.wav"
MAX_RECORDING_NAME = 64
_RECORDING_NAME = re.compile(RECORDING_NAME)


# What a kept recording may be called: MixMonitor's WAV, or its verified Ogg copy
# (recordings.compress) under the same name.
KEPT_RECORDING_NAME = RECORDING_NAME.removesuffix(r"\.wav") + r"\.(?:wav|ogg)"
_KEPT_RECORDING_NAME = re.compile(KEPT_RECORDING_NAME)


def is_recording_name(name: str) -> bool:
    """Whether `name` is a recording name as MixMonitor writes it (nothing more, nothing less)."""
    return len(name) <= MAX_RECORDING_NAME and _RECORDING_NAME.fullmatch(name) is not None


def is_kept_recording_name(name: str) -> bool:
    """Whether `name` names a kept recording: MixMonitor's WAV or its compressed copy."""
    return len(name) <= MAX_RECORDING_NAME and _KEPT_RECORDING_NAME.fullmatch(name) is not None


# How the tracker's end reason says Asterisk went away before the call ended (the call's
# outcome is then `failed` if nobody answered): not a call the centre missed.
LOST_PREFIXES = ("asterisk connection lost", "not found in Asterisk")


def lost_by_asterisk(end_reason: str) -> bool:
    return end_reason.startswith(LOST_PREFIXES)


class CallOutcome(StrEnum):
    IN_PROGRESS = "in_progress"  # still up (or not yet known to have ended)
    ANSWERED = "answered"  # an agent talked with the caller (transfers between agents too)
    ABANDONED = "abandoned"  # the caller gave up waiting in a queue
    IVR_HANGUP = "ivr_hangup"  # the caller hung up in the IVR, before any queue
    EMERGENCY = "emergency"  # transferred to 110/119/120
    FAILED = "failed"  # lost: Asterisk went away, or the call could not be carried
    NUISANCE = "nuisance"  # refused by the IVR: the number is on the nuisance list (骚扰电话)
    CALLBACK = "callback"  # left the queue to be called back in its turn (回拨保留排队位置)


class Disposition(StrEnum):
    """Why an answered call needs no work order, chosen by the agent at wrap-up."""

    ANSWERED_AT_ONCE = "answered_at_once"
    WRONG_NUMBER = "wrong_number"
    SILENT = "silent"
    NUISANCE = "nuisance"
    TEST = "test"
    DROPPED = "dropped"
    # Kept for calls disposed so before issue 12; refused now (`emergency_needs_order`): an
    # emergency needs its work order, whose TRANSFER makes the hand-over.
    EMERGENCY_REFERRED = "emergency_referred"


DISPOSITION_LABELS = {
    Disposition.ANSWERED_AT_ONCE: "当场解答(知识库)",
    Disposition.WRONG_NUMBER: "打错电话",
    Disposition.SILENT: "无声电话",
    Disposition.NUISANCE: "骚扰电话",
    Disposition.TEST: "测试电话",
    Disposition.DROPPED: "通话中断",
    Disposition.EMERGENCY_REFERRED: "已转110/119/120",
}
# What the desk offers at wrap-up: every disposition but the one that let an emergency out
# of the loop.
OFFERED_DISPOSITIONS = tuple(d for d in Disposition if d is not Disposition.EMERGENCY_REFERRED)


class RecordingStatus(StrEnum):
    PENDING = "pending"  # the call was answered; its file is not checked yet
    ATTACHED = "attached"  # checked (size, duration, SHA-256) and attached to call and order
    MISSING = "missing"  # no file where the call's recording should be
    TRUNCATED = "truncated"  # a file that does not parse as a whole recording
    ALTERED = "altered"  # a later check found another checksum than the one stored
    REMOVED = "removed"  # removed by retention, logged


class CallEventKind(StrEnum):
    """What happens on a call, in the order it happened (the call's `call_events`)."""

    QUEUED = "queued"
    RINGING = "ringing"
    ANSWERED = "answered"  # an agent took the call (again after a transfer)
    HELD = "held"
    RESUMED = "resumed"
    TRANSFERRED = "transferred"  # detail: target, blind/warm
    MUTED = "muted"  # the agent's microphone off (the caller does not hear the agent)
    UNMUTED = "unmuted"
    CONSULT_STARTED = "consult_started"  # detail: target, mode (hold / three_way)
    TRUNK_ATTEMPT = "trunk_attempt"  # detail: line, leg (primary / backup), status, ms
    CONSULT_ANSWERED = "consult_answered"  # detail: target, by (the leg that answered)
    CONSULT_FAILED = "consult_failed"  # detail: target, reason (busy / no_answer / all_down …)
    CONSULT_CANCELLED = "consult_cancelled"
    THREE_WAY = "three_way"  # caller, agent and the third party in one conference
    PARTY_LEFT = "party_left"  # detail: who (agent / third party / caller)
    RECORDING_PAUSED = "recording_paused"
    RECORDING_RESUMED = "recording_resumed"
    DISPOSED = "disposed"
    ENDED = "ended"
