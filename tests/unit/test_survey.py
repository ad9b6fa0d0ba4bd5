"""The survey's pure parts: the key → answer decision, which calls are offered it, which
orders take it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from crm.domain.enums import Satisfaction, Status
from crm.domain.survey import SurveyAnswer, order_takes_survey, parse_answer
from hotline_cli.survey_offer import survey_due
from ivr.survey import answer_of
from telephony.call import Call, CallState
from telephony.dialplan import SURVEY_ANSWERS, SURVEY_NO_ANSWER

EMERGENCY = ("110", "119", "120")


@pytest.mark.parametrize(
    ("key", "retries_left", "answer"),
    [
        ("1", 0, "satisfied"),
        ("2", 1, "basically_satisfied"),
        ("3", 1, "unsatisfied"),
        (None, 1, SURVEY_NO_ANSWER),  # timeout: ends at once
        ("", 1, SURVEY_NO_ANSWER),
        ("*", 1, None),  # ask again
        ("9", 0, SURVEY_NO_ANSWER),  # no replays left
    ],
)
def test_answer_of_a_key(key: str | None, retries_left: int, answer: str | None) -> None:
    assert answer_of(key, retries_left=retries_left) == answer


def test_the_ivr_codes_are_the_crm_answers() -> None:
    assert {parse_answer(code) for code in (*SURVEY_ANSWERS, SURVEY_NO_ANSWER)} == set(SurveyAnswer)
    assert parse_answer("") is None and parse_answer("4") is None


def _call(**changes: Any) -> Call:
    base = Call("1.1", "1.1", "PJSIP/carrier-1", "13900000001", "", 0.0,
                state=CallState.TALKING, answered_at=1.0)  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_a_call_answered_by_an_agent_is_offered_the_survey() -> None:
    assert survey_due(_call(), EMERGENCY)


@pytest.mark.parametrize(
    "changes",
    [
        {"transfer_target": "110"},  # an attended transfer left the caller with 110
        {"answered_at": None},  # nobody served it
        {"state": CallState.ENDED},
    ],
)
def test_no_survey_for(changes: dict[str, Any]) -> None:
    assert not survey_due(_call(**changes), EMERGENCY)
    assert not survey_due(None, EMERGENCY)


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.ANSWERED])
def test_an_order_not_answered_at_once_keeps_the_survey_to_its_call(status: Status) -> None:
    assert order_takes_survey(status, None, SurveyAnswer.SATISFIED) is None


def test_an_order_answered_at_once_takes_the_answer_once() -> None:
    ok = order_takes_survey(Status.ANSWERED, None, SurveyAnswer.UNSATISFIED)
    assert ok is Satisfaction.UNSATISFIED
    kept = Satisfaction.SATISFIED
    assert order_takes_survey(Status.ANSWERED, kept, SurveyAnswer.UNSATISFIED) is None
    assert order_takes_survey(Status.ANSWERED, None, SurveyAnswer.NO_ANSWER) is None
