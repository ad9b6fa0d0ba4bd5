"""The desktop's commands about one call's outcome and record: the work order saved for it
(`save_order`), the disposition of an answered call that needs no order (`dispose`), and the
pause and resume of its recording (`recording_pause`, `recording_resume`). Pure: no I/O;
`agent_gateway.edge.protocol` puts them into the protocol's command union and schema."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeAlias, get_args

from pydantic import AfterValidator, StringConstraints, field_validator

from agent_gateway.edge.message_rules import CommandMessage, Strict, no_control_in

# The dispositions an answered call without a work order may end with (the CRM's
# crm.domain.calls.Disposition: tests/unit/desk/test_verbs.py keeps the two in step; the edge
# imports no crm).
DispositionCode: TypeAlias = Literal[
    "answered_at_once", "wrong_number", "silent", "nuisance", "test", "dropped",
    "emergency_referred",
]
DISPOSITION_CODES: tuple[str, ...] = get_args(DispositionCode)
MAX_DISPOSITION_NOTE = 500

# Largest save_order payload, JSON-encoded: an order is a form, not a document store.
MAX_ORDER_BYTES = 16 * 1024


def _text(value: str) -> str:
    no_control_in(value, "note")
    return value


# A call's Linkedid as desktops name it (call_id): Asterisk's "1700000000.7".
CallId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


class CallArgs(Strict):
    call_id: CallId


class DisposeArgs(Strict):
    call_id: CallId
    disposition: DispositionCode
    note: Annotated[
        str, StringConstraints(max_length=MAX_DISPOSITION_NOTE), AfterValidator(_text)
    ] = ""


class SaveOrderArgs(Strict):
    """The order form's fields; the CRM validates their meaning, we only bound the size and
    refuse control characters."""

    order: dict[str, Any]

    @field_validator("order")
    @classmethod
    def _bounded(cls, order: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(order, ensure_ascii=False).encode())
        if size > MAX_ORDER_BYTES:
            raise ValueError(f"order is {size} bytes, at most {MAX_ORDER_BYTES} allowed")
        no_control_in(order, "order")
        return order


class SaveOrder(CommandMessage):
    name: Literal["save_order"]
    args: SaveOrderArgs


class Dispose(CommandMessage):
    """The outcome of an answered call that needs no work order (at wrap-up, or during it)."""

    name: Literal["dispose"]
    args: DisposeArgs


class RecordingPause(CommandMessage):
    name: Literal["recording_pause"]
    args: CallArgs


class RecordingResume(CommandMessage):
    name: Literal["recording_resume"]
    args: CallArgs
