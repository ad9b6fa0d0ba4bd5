"""A call as the tracker keeps it: its state, its fields, and the change adapters act on.

`Call` is one caller's call (by Linkedid) from the IVR to its end; `CallChanged` is the effect
the tracker (`telephony/tracker.py`) returns for each change. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telephony.dialplan import (
    VAR_CALLBACK_REQUESTED,
    VAR_CALLBACK_RESULT,
    VAR_EMERGENCY,
    VAR_IVR_CHOICE,
    VAR_IVR_LABEL,
    VAR_QUEUE,
    VAR_QUEUED_AT,
    VAR_RECORDING,
    VAR_REFUSED,
    VAR_SURVEY,
    extension_of,
)
from telephony.events import DomainEvent


class CallState(StrEnum):
    IN_IVR = "in_ivr"
    QUEUED = "queued"
    RINGING = "ringing"
    TALKING = "talking"
    TRANSFERRED = "transferred"
    ENDED = "ended"
    ABANDONED = "abandoned"


FINAL = frozenset({CallState.ENDED, CallState.ABANDONED})
WAITING = frozenset({CallState.QUEUED, CallState.RINGING})
CONNECTED = frozenset({CallState.TALKING, CallState.TRANSFERRED})

# Channel variables the IVR and dialplan set, and the call field each one fills.
VARIABLE_FIELDS = {
    VAR_IVR_CHOICE: "ivr_choice",
    VAR_IVR_LABEL: "ivr_label",
    VAR_QUEUE: "queue",
    VAR_RECORDING: "recording",
    VAR_REFUSED: "refused",
    VAR_EMERGENCY: "transfer_target",  # the IVR sent the caller straight to 110 (_variable)
    VAR_SURVEY: "survey",
    VAR_CALLBACK_REQUESTED: "callback_requested",
    VAR_CALLBACK_RESULT: "callback_result",
    VAR_QUEUED_AT: "first_queued_at",
}


@dataclass(frozen=True, slots=True)
class Call:
    linkedid: str
    uniqueid: str  # the caller's channel
    channel: str
    caller_number: str
    caller_name: str
    started_at: float
    state: CallState = CallState.IN_IVR
    ivr_choice: str = ""
    ivr_label: str = ""
    queue: str = ""
    refused: str = ""  # why the IVR refused the caller (dialplan.REFUSED_*), "" if it did not
    queued_at: float | None = None
    requeued: bool = False  # back in its queue from call control's rooms, first (QUEUE_PRIO)
    answered_at: float | None = None
    ended_at: float | None = None
    agent_interface: str = ""
    agent_name: str = ""
    agent_channel: str = ""  # the answering agent's leg, for hang-up and transfer actions
    ringing: tuple[str, ...] = ()  # interfaces ringing for this call now
    completed_by: str = ""  # caller / agent / transfer, from AgentComplete
    # Under call control (the caller in its ConfBridge room): the queue's bridge is gone, its
    # leaves and AgentComplete tell nothing; who hangs up first does.
    in_rooms: bool = False
    held: bool = False
    recording: str = ""
    end_reason: str = ""
    transfer_target: str = ""  # where the last transfer sent the caller (an extension, 110…)
    transfer_answered_by: str = ""  # the interface that took the caller after that transfer
    survey: str = ""  # the satisfaction survey after the agent hung up (dialplan.VAR_SURVEY)
    # The agent's leg hung up with the caller still on (Queue's `c`: the survey): the agent's
    # part, and the talk, ended then; the call goes on until the caller's leg hangs up.
    agent_left_at: float | None = None
    # The extension the agent's Atxfer dialled (its Local/<exten>@hotline-agents channel): an
    # attended transfer the agent completed while the target still rang names no target.
    consult_target: str = ""
    # Callback keeping the place: on a caller's call, the request it left the line with; on a
    # placeholder's call (its ;2 half is the "caller"), the request it holds the place of,
    # and how its dial of the citizen ended (${DIALSTATUS}; ANSWER once the citizen answered).
    callback_requested: str = ""
    callback: str = ""
    callback_result: str = ""
    # ${EPOCH} when the caller first joined its queue (a placeholder: its caller's; "0" for
    # a retry placed first): the queue's order, which a re-join at a position keeps.
    first_queued_at: str = ""
    # out of its queue while still waiting (QueueCallerLeave): the callback key's AGI, or an
    # answer under way; a join or an answer ends it
    left_queue: bool = False

    @property
    def in_queue(self) -> bool:
        """Waiting in its queue now: counted, given a position, whispered to."""
        return self.state in WAITING and not self.left_queue

    def place_since(self) -> float | None:
        """When the caller's place in its queue was taken (its first join), else None."""
        if self.first_queued_at.isdigit():
            return float(self.first_queued_at)
        return self.queued_at

    @property
    def in_survey(self) -> bool:
        """The caller is on after the agent hung up (the survey, if it is offered)."""
        return self.active and self.agent_left_at is not None

    @property
    def active(self) -> bool:
        return self.state not in FINAL

    @property
    def outcome_owner(self) -> str:
        """The agent (interface) who has the caller last and so gives the call its outcome:
        who took it after a blind transfer to another agent, else who answered it."""
        taker = self.transfer_answered_by
        return taker if extension_of(taker) else self.agent_interface

    @property
    def wait_time_s(self) -> float | None:
        """Seconds in queue until answered, or until the caller gave up."""
        if self.queued_at is None:
            return None
        until = self.answered_at if self.answered_at is not None else self.ended_at
        return None if until is None else max(0.0, until - self.queued_at)

    @property
    def talk_time_s(self) -> float | None:
        """From the answer to the agent's hang-up (a survey after it is no talk) or the end."""
        until = self.agent_left_at if self.agent_left_at is not None else self.ended_at
        if self.answered_at is None or until is None:
            return None
        return max(0.0, until - self.answered_at)


@dataclass(frozen=True, slots=True)
class CallChanged:
    """What an adapter acts on: the call as it is now, what it was, and why it changed."""

    call: Call
    previous: CallState | None
    cause: DomainEvent | None


Effect = CallChanged
