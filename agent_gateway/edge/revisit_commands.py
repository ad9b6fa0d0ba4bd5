"""The desktop's commands for the centre's call back (回访) of an order: `revisit_call` (the
agent's phone rings, then the citizen's) and `revisit_result` (reached / no answer / refused,
with the citizen's satisfaction when reached). Pure: no I/O; `agent_gateway.edge.protocol`
puts them into the protocol's command union and schema. The words mirror the CRM's
(crm.domain.revisit.RevisitResult, crm.domain.enums.Satisfaction:
tests/unit/desk/test_revisit.py keeps them in step; the edge imports no crm)."""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias, get_args

from pydantic import AfterValidator, Field, StringConstraints

from agent_gateway.edge.call_commands import CallId
from agent_gateway.edge.message_rules import CommandMessage, Strict, no_control_in

RevisitResultCode: TypeAlias = Literal["reached", "no_answer", "refused"]
SatisfactionCode: TypeAlias = Literal["satisfied", "basically_satisfied", "unsatisfied"]
RESULT_CODES: tuple[str, ...] = get_args(RevisitResultCode)
SATISFACTION_CODES: tuple[str, ...] = get_args(SatisfactionCode)
MAX_NOTE = 500
OrderId = Annotated[int, Field(gt=0, lt=2**63)]


def _note(value: str) -> str:
    no_control_in(value, "note")
    return value


class RevisitCallArgs(Strict):
    order_id: OrderId


class RevisitResultArgs(Strict):
    order_id: OrderId
    call_id: CallId  # as revisit_call answered it
    result: RevisitResultCode
    satisfaction: SatisfactionCode | None = None  # only, and always, when reached
    note: Annotated[str, StringConstraints(max_length=MAX_NOTE), AfterValidator(_note)] = ""


class RevisitCall(CommandMessage):
    """Call the order's citizen back from the agent's own phone (it rings first)."""

    name: Literal["revisit_call"]
    args: RevisitCallArgs


class RevisitResult(CommandMessage):
    """The callback's result: the order's callback step (the call is hung up if still on)."""

    name: Literal["revisit_result"]
    args: RevisitResultArgs
