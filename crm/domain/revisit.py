"""A call placed through the centre from an order, as the one who placed it reports it.

Three calls of "2+1" (rules §5) go the same way, told apart by their purpose: the handling
unit's first contact (LOG_CONTACT) and its reply with the result (REPLY), then the centre's
call back (回访, CALLBACK). A call back reaching the citizen gives a satisfaction: the order's
callback step (closed, or back for rework when unsatisfied). A unit's call reaching the
citizen is its contact or reply step, the note saying what was said. Not reached, or reached
and refusing, moves nothing: the attempt is still a step on the order's trail, so the next
attempt knows what was tried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType

from crm.domain.commands import Callback, Command, LogContact, Reply
from crm.domain.enums import Action, Satisfaction
from crm.domain.lifecycle import TransitionError


class BadReport(TransitionError):
    """A result, a satisfaction and a note that do not go together."""


class Purpose(StrEnum):
    CALLBACK = "callback"  # the centre's 回访 (the "+1")
    FIRST_CONTACT = "first_contact"  # the unit's first contact after receiving the order
    REPLY = "reply"  # the unit's reply with the result


@dataclass(frozen=True)
class PurposeRules:
    """What a purpose's call is on the order and on its call record."""

    action: Action  # the order's step a reached call is
    label: str  # the call record's ivr_label: the centre called, none called in
    started: str  # the audit action of the call placed
    attempt: str  # the audit action of a call that moved nothing
    word: str  # what the call is called, in Chinese


RULES: Mapping[Purpose, PurposeRules] = MappingProxyType(
    {
        Purpose.CALLBACK: PurposeRules(
            Action.CALLBACK, "revisit", "callback_started", "callback_attempt", "回访"
        ),
        Purpose.FIRST_CONTACT: PurposeRules(
            Action.LOG_CONTACT,
            "unit_contact",
            "contact_call_started",
            "contact_attempt",
            "首次联系",
        ),
        Purpose.REPLY: PurposeRules(
            Action.REPLY, "unit_reply", "reply_call_started", "reply_attempt", "答复"
        ),
    }
)
CALL_LABEL = RULES[Purpose.CALLBACK].label
ATTEMPT_ACTION = RULES[Purpose.CALLBACK].attempt
CALL_LABELS = tuple(r.label for r in RULES.values())  # every call placed from an order
# a placed call's record still open after its ring time (30 s) and an hour's talk was never
# reported (the reporter gone, the process stopped): it no longer holds its order or phone
OPEN_AT_MOST = timedelta(seconds=30) + timedelta(hours=1)
UNIT_PURPOSES = (Purpose.FIRST_CONTACT, Purpose.REPLY)  # the handling unit's calls


def purpose_of(label: str) -> Purpose | None:
    """The purpose of a call record labelled `label` (None: no call placed from an order)."""
    return next((p for p, r in RULES.items() if r.label == label), None)


class RevisitResult(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    REFUSED = "refused"  # reached, and would not say (or would not talk)


@dataclass(frozen=True)
class RevisitReport:
    result: RevisitResult
    satisfaction: Satisfaction | None
    call_id: str
    note: str = ""
    purpose: Purpose = Purpose.CALLBACK

    def __post_init__(self) -> None:
        reached = self.result is RevisitResult.REACHED
        if self.purpose is not Purpose.CALLBACK:
            if self.satisfaction is not None:
                raise BadReport("no_satisfaction", "单位联系市民不记录满意度")
            if reached and not self.note.strip():
                raise BadReport("note_required", "接通后须记录联系情况或答复结果")
        elif reached and self.satisfaction is None:
            raise BadReport("satisfaction_required", "回访接通须记录满意度")
        elif not reached and self.satisfaction is not None:
            raise BadReport("no_satisfaction", "未接通或拒绝评价时不记录满意度")

    @property
    def rules(self) -> PurposeRules:
        return RULES[self.purpose]

    @property
    def answered(self) -> bool:
        """Whether the citizen picked up (a recording to expect)."""
        return self.result is not RevisitResult.NO_ANSWER

    def step(self) -> Command | None:
        """The order's step, or None for an attempt that moves nothing."""
        if self.purpose is Purpose.CALLBACK:
            if self.satisfaction is None:
                return None
            return Callback(self.satisfaction, self.note, self.call_id)
        if self.result is not RevisitResult.REACHED:
            return None
        if self.purpose is Purpose.FIRST_CONTACT:
            return LogContact(self.note, self.call_id)
        return Reply(self.note, self.call_id)

    def attempt_detail(self) -> dict[str, str]:
        return {"result": self.result.value, "call_id": self.call_id, "note": self.note}
