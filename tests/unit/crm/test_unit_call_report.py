"""The handling unit's calls through the centre ("2+1": first contact, reply) reported like
the centre's callback: reached is the unit's step with the call on it, anything else an
attempt of its own that moves nothing."""

from __future__ import annotations

import pytest

from crm.domain.commands import LogContact, Reply
from crm.domain.enums import Action, Satisfaction
from crm.domain.revisit import (
    CALL_LABEL,
    RULES,
    BadReport,
    Purpose,
    RevisitReport,
    RevisitResult,
    purpose_of,
)


def test_a_reached_first_contact_is_the_contact_step_with_its_call() -> None:
    report = RevisitReport(RevisitResult.REACHED, None, "1.2", "已联系市民", Purpose.FIRST_CONTACT)
    step = report.step()
    assert step == LogContact("已联系市民", "1.2")
    assert isinstance(step, LogContact) and step.action is Action.LOG_CONTACT


def test_a_reached_reply_is_the_reply_step_its_note_the_result() -> None:
    report = RevisitReport(RevisitResult.REACHED, None, "1.2", "已修复路灯", Purpose.REPLY)
    assert report.step() == Reply("已修复路灯", "1.2")


@pytest.mark.parametrize("purpose", [Purpose.FIRST_CONTACT, Purpose.REPLY])
@pytest.mark.parametrize("result", [RevisitResult.NO_ANSWER, RevisitResult.REFUSED])
def test_a_unit_call_not_reached_is_an_attempt_of_its_own(
    purpose: Purpose, result: RevisitResult
) -> None:
    report = RevisitReport(result, None, "1.2", "", purpose)
    assert report.step() is None
    expected = {Purpose.FIRST_CONTACT: ("contact_attempt", "unit_contact"),
                Purpose.REPLY: ("reply_attempt", "unit_reply")}  # fmt: skip
    assert (report.rules.attempt, report.rules.label) == expected[purpose]
    assert CALL_LABEL == "revisit"  # the centre's callback, counted apart


@pytest.mark.parametrize("purpose", [Purpose.FIRST_CONTACT, Purpose.REPLY])
def test_a_unit_call_takes_no_satisfaction_and_a_reached_one_needs_a_note(
    purpose: Purpose,
) -> None:
    with pytest.raises(BadReport) as rated:
        RevisitReport(RevisitResult.REACHED, Satisfaction.SATISFIED, "1.2", "好", purpose)
    assert rated.value.code == "no_satisfaction"
    with pytest.raises(BadReport) as blank:
        RevisitReport(RevisitResult.REACHED, None, "1.2", "  ", purpose)
    assert blank.value.code == "note_required"


def test_each_purpose_is_told_by_its_call_label_alone() -> None:
    assert purpose_of("revisit") is Purpose.CALLBACK
    assert purpose_of("unit_contact") is Purpose.FIRST_CONTACT
    assert purpose_of("unit_reply") is Purpose.REPLY
    assert purpose_of("") is None and purpose_of("menu_1") is None
    assert (RULES[Purpose.FIRST_CONTACT].action, RULES[Purpose.REPLY].action) == (
        Action.LOG_CONTACT, Action.REPLY,
    )  # fmt: skip


def test_the_rules_are_read_only() -> None:
    with pytest.raises(TypeError):
        RULES[Purpose.REPLY] = RULES[Purpose.CALLBACK]  # type: ignore[index]
