"""The callback (回访) report as the CRM reads it, and the desk's words kept in step with it."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from agent_gateway.edge.protocol import ProtocolError, parse_client_message
from agent_gateway.edge.revisit_commands import RESULT_CODES, SATISFACTION_CODES
from crm.domain.commands import Callback
from crm.domain.enums import Action, Satisfaction
from crm.domain.revisit import BadReport, RevisitReport, RevisitResult


def test_the_desk_words_are_the_crm_s() -> None:
    assert tuple(RevisitResult) == RESULT_CODES
    assert tuple(Satisfaction) == SATISFACTION_CODES


def test_reached_and_rated_is_the_callback_step() -> None:
    report = RevisitReport(RevisitResult.REACHED, Satisfaction.SATISFIED, "1.2", "好")
    assert report.step() == Callback(Satisfaction.SATISFIED, "好", "1.2")
    unhappy = RevisitReport(RevisitResult.REACHED, Satisfaction.UNSATISFIED, "1.2").step()
    assert unhappy is not None and unhappy.action is Action.REWORK  # back for rework


@pytest.mark.parametrize("result", [RevisitResult.NO_ANSWER, RevisitResult.REFUSED])
def test_not_reached_or_refused_moves_nothing_but_is_an_attempt(result: RevisitResult) -> None:
    report = RevisitReport(result, None, "1.2", "无人接听")
    assert report.step() is None
    assert report.attempt_detail() == {"result": result.value, "call_id": "1.2",
                                       "note": "无人接听"}  # fmt: skip
    assert report.answered is (result is RevisitResult.REFUSED)


def test_a_result_and_a_satisfaction_that_do_not_fit_are_refused() -> None:
    with pytest.raises(BadReport, match="满意度") as missing:
        RevisitReport(RevisitResult.REACHED, None, "1.2")
    assert missing.value.code == "satisfaction_required"
    with pytest.raises(BadReport) as extra:
        RevisitReport(RevisitResult.NO_ANSWER, Satisfaction.SATISFIED, "1.2")
    assert extra.value.code == "no_satisfaction"


@pytest.mark.parametrize("args", [
    {"order_id": 0}, {"order_id": 7, "number": "13911112222"},
    {"order_id": 7, "call_id": "1.2", "result": "maybe"},
    {"order_id": 7, "call_id": "1.2", "result": "reached", "satisfaction": "great"},
    {"order_id": 7, "call_id": "../x", "result": "reached"},
    {"order_id": 7, "call_id": "1.2", "result": "no_answer", "note": "a\x00b"},
])  # fmt: skip
def test_bad_revisit_commands_are_refused_by_the_protocol(args: dict[str, object]) -> None:
    name = "revisit_call" if set(args) <= {"order_id", "number"} else "revisit_result"
    frame = {"type": "command", "id": "c1", "name": name, "args": args}
    with pytest.raises((ProtocolError, ValidationError)):
        parse_client_message(json.dumps(frame))
