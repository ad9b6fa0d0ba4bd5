"""The order form: what registering an order takes, checked the same way for every channel.

The API's `POST /api/orders` and the desktops' 保存工单 read the same strict model, so a form
the API refuses is refused at the desk with the same message, and neither reaches the use case
unchecked (see `crm.text` for the two kinds of text).
"""

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from crm.domain.caller import MAX_CALLER_NAME
from crm.domain.calls import MAX_RECORDING_NAME, RECORDING_NAME
from crm.domain.enums import Channel, OrderType, Severity, Urgency
from crm.errors import InvalidInput
from crm.text import Line, Prose
from crm.usecases.register import CallRef, NewOrder

PhoneNumber = Annotated[str, Field(max_length=32, pattern=r"^[0-9+*#-]*$")]
# An order's intake fields, the same for registering and for amending.
CallerName = Annotated[Line, Field(max_length=MAX_CALLER_NAME)]
Location = Annotated[Line, Field(max_length=300)]
OrderText = Annotated[Prose, Field(min_length=1, max_length=4000)]
StatutoryDays = Annotated[int, Field(ge=1, le=365)]


RECORDING_PATTERN = rf"^(?:{RECORDING_NAME})?$"
Recording = Annotated[
    Line, StringConstraints(max_length=MAX_RECORDING_NAME, pattern=RECORDING_PATTERN)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CallIn(Strict):
    linkedid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    # only the form the dialplan's MixMonitor writes (telephony.asterisk_config): a day
    # directory and the channel's UNIQUEID, so no path can point elsewhere
    recording: Recording = ""


class OrderIn(Strict):
    channel: Channel = Channel.PHONE
    caller_name: CallerName = ""
    caller_number: PhoneNumber = ""
    confidential: bool = False
    location: Location = ""
    text: OrderText
    order_type: OrderType
    urgency: Urgency = Urgency.NORMAL
    severity: Severity = Severity.GENERAL
    statutory_days: StatutoryDays | None = None
    calls: list[CallIn] = Field(default_factory=list, max_length=20)
    stability_clue: bool = Field(
        default=False,
        description="a clue threatening social stability: pushed to 110 like an emergency, "
        "on the 10-minute clock (rules §8)",
    )


def order_form(fields: Mapping[str, Any]) -> OrderIn:
    """`fields` (JSON values) as a checked form, with JSON's strict semantics; InvalidInput
    names the first bad field (dotted, e.g. `calls.0.recording`)."""
    try:
        return OrderIn.model_validate_json(json.dumps(fields))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(map(str, first["loc"])) or "order"
        raise InvalidInput("invalid_order", first["msg"], field) from None


def new_order(body: OrderIn) -> NewOrder:
    """The use case's input from a checked order form."""
    return NewOrder(
        channel=body.channel,
        text=body.text,
        order_type=body.order_type,
        caller_name=body.caller_name,
        caller_number=body.caller_number,
        confidential=body.confidential,
        location=body.location,
        urgency=body.urgency,
        severity=body.severity,
        statutory_days=body.statutory_days,
        stability_clue=body.stability_clue,
        calls=tuple(CallRef(k.linkedid, k.recording) for k in body.calls),
    )
