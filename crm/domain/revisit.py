"""The centre's call back (回访, the "+1" of "2+1", rules §5) as the agent reports it.

A citizen reached gives a satisfaction: that is the order's callback step (closed, or back for
rework when unsatisfied). Not reached, or reached and refusing to rate, moves nothing: the
attempt is still a step on the order's trail, so the next attempt knows what was tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crm.domain.commands import Callback
from crm.domain.enums import Satisfaction
from crm.domain.lifecycle import TransitionError

ATTEMPT_ACTION = "callback_attempt"  # the audit action of a call back that closed nothing
CALL_LABEL = "revisit"  # a callback's call record (ivr_label): the centre called, none called in


class BadReport(TransitionError):
    """A result and a satisfaction that do not go together."""


class RevisitResult(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    REFUSED = "refused"  # reached, and would not say


@dataclass(frozen=True)
class RevisitReport:
    result: RevisitResult
    satisfaction: Satisfaction | None
    call_id: str
    note: str = ""

    def __post_init__(self) -> None:
        reached = self.result is RevisitResult.REACHED
        if reached and self.satisfaction is None:
            raise BadReport("satisfaction_required", "回访接通须记录满意度")
        if not reached and self.satisfaction is not None:
            raise BadReport("no_satisfaction", "未接通或拒绝评价时不记录满意度")

    @property
    def answered(self) -> bool:
        """Whether the citizen picked up (a recording to expect)."""
        return self.result is not RevisitResult.NO_ANSWER

    def step(self) -> Callback | None:
        """The order's callback step, or None for an attempt that moves nothing."""
        if self.satisfaction is None:
            return None
        return Callback(self.satisfaction, self.note, self.call_id)

    def attempt_detail(self) -> dict[str, str]:
        return {"result": self.result.value, "call_id": self.call_id, "note": self.note}
