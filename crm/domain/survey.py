"""The caller's satisfaction survey after the call (IVR keys 1/2/3) and where it counts.

A survey rates the service of the call. It can stand as the order's satisfaction, the one the
centre's callback (回访, the "+1" of "2+1", rules §5) records, only for an order the call itself
finished: answered at once (即办 / 直接答复, status `answered`), which has no handling unit and no
callback step, so the caller's verdict right after the answer is that step's. An order still
being handled (registered, dispatched, with a unit …) has its result still to come: the survey
cannot say whether the citizen is satisfied with a result they have not had, so it stays the
call's rating only; so do orders transferred, refused (不予受理) or closed by a callback. An
order that has a satisfaction already keeps it. `no_answer` is stored on the call (offered,
not answered) and never on an order.
"""

from enum import StrEnum

from crm.domain.enums import Satisfaction, Status


class SurveyAnswer(StrEnum):
    SATISFIED = "satisfied"  # 满意 (key 1)
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意 (key 2)
    UNSATISFIED = "unsatisfied"  # 不满意 (key 3)
    NO_ANSWER = "no_answer"  # offered, and no valid key (timeout, invalid keys, hang-up)


# What the satisfaction rate (满意率) counts as satisfied.
SATISFIED_ANSWERS = frozenset({SurveyAnswer.SATISFIED, SurveyAnswer.BASICALLY_SATISFIED})

SURVEY_AUDIT_ACTION = "ivr_survey"  # the audit entry of a survey taken onto an order
SURVEY_USER = "语音满意度评价"  # the system user the entry is signed by


def satisfaction_of(answer: SurveyAnswer | None) -> Satisfaction | None:
    """The satisfaction an answer says; None for no answer or no survey."""
    if answer is None or answer is SurveyAnswer.NO_ANSWER:
        return None
    return Satisfaction(answer.value)


def order_takes_survey(
    status: Status, satisfaction: Satisfaction | None, answer: SurveyAnswer | None
) -> Satisfaction | None:
    """The satisfaction to set on an order of `status` from its call's `answer`, or None."""
    if status is not Status.ANSWERED or satisfaction is not None:
        return None
    return satisfaction_of(answer)


def parse_answer(value: str) -> SurveyAnswer | None:
    """The IVR's channel variable as an answer; anything else (or "") is no survey."""
    try:
        return SurveyAnswer(value)
    except ValueError:
        return None
