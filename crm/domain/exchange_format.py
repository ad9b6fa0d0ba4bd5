"""The 12345 ↔ 110 order exchange's messages (工单警单双向流转, rules §7), format version 1.0.

One JSON object per HTTP request, tagged by `kind`; documented in `docs/exchange_protocol.md`,
its JSON schema (`docs/exchange_protocol.schema.json`) generated from these models. What we
send: `handover` (a matter for the receiving centre) and `reply` (our outcome of a matter it
handed us). What it sends: `accepted`, `rejected`, `result` (about one of our hand-overs, by
our order number) and `matter` (a matter for us). Strict: unknown fields, wrong types and
other versions are refused, so both ends notice a drift at the first message.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from crm.domain.enums import OrderType, Severity, Status, Urgency

FORMAT_VERSION: Literal["1.0"] = "1.0"

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
MessageId = Annotated[str, StringConstraints(pattern=_UUID)]
Number = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z-]+$")]
ShortText = Annotated[str, StringConstraints(max_length=300)]
LongText = Annotated[str, StringConstraints(max_length=4000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Caller(_Strict):
    """The caller as the receiving centre may see them: masked when they asked for
    confidentiality (安全保密), the flag telling why."""

    name: Annotated[str, StringConstraints(max_length=100)] = ""
    number: Annotated[str, StringConstraints(max_length=32, pattern=r"^[0-9+*#-]*$")] = ""
    confidential: bool = False


class CallReference(_Strict):
    """The call the matter came in on (Asterisk Linkedid) and its recording's name."""

    linkedid: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9._-]*$")]
    recording: Annotated[str, StringConstraints(max_length=200)] = ""


class _Message(_Strict):
    format_version: Literal["1.0"]  # required: a message of another version is refused
    message_id: MessageId  # the sender's idempotency key: the same message keeps it
    sent_at: datetime


class HandoverMessage(_Message):
    """12345 → receiving centre: a matter of its line, structured."""

    kind: Literal["handover"] = "handover"
    line: Literal["110", "119", "120", "122"]
    order_number: Number
    caller: Caller
    location: ShortText
    order_type: OrderType
    severity: Severity
    urgency: Urgency
    stability_clue: bool = False
    summary: LongText
    registered_at: datetime
    transfer_due_at: datetime | None = None
    calls: tuple[CallReference, ...] = Field(default=(), max_length=20)


class AcceptedMessage(_Message):
    """Receiving centre → 12345: it took the matter of our order, under its incident number."""

    kind: Literal["accepted"] = "accepted"
    order_number: Number
    incident_number: Number
    note: ShortText = ""


class RejectedMessage(_Message):
    """Receiving centre → 12345: it refused the matter (not its line); ours again."""

    kind: Literal["rejected"] = "rejected"
    order_number: Number
    reason: Annotated[str, StringConstraints(min_length=1, max_length=300)]


class ResultMessage(_Message):
    """Receiving centre → 12345: how the matter ended; closes the loop of our order."""

    kind: Literal["result"] = "result"
    order_number: Number
    result: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class MatterMessage(_Message):
    """Receiving centre → 12345: a matter of ours it hands us (e.g. a non-police matter)."""

    kind: Literal["matter"] = "matter"
    remote_number: Number  # its own number, which our replies carry
    caller: Caller = Caller()
    location: ShortText = ""
    order_type: OrderType
    severity: Severity = Severity.GENERAL
    urgency: Urgency = Urgency.NORMAL
    summary: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class ReplyMessage(_Message):
    """12345 → receiving centre: our outcome of a matter it handed us."""

    kind: Literal["reply"] = "reply"
    remote_number: Number
    order_number: Number
    status: Status
    result: LongText = ""


Inbound = Annotated[
    AcceptedMessage | RejectedMessage | ResultMessage | MatterMessage,
    Field(discriminator="kind"),
]
Outbound = Annotated[HandoverMessage | ReplyMessage, Field(discriminator="kind")]
Any_ = Annotated[
    HandoverMessage
    | ReplyMessage
    | AcceptedMessage
    | RejectedMessage
    | ResultMessage
    | MatterMessage,
    Field(discriminator="kind"),
]

INBOUND: TypeAdapter[Inbound] = TypeAdapter(Inbound)
OUTBOUND: TypeAdapter[Outbound] = TypeAdapter(Outbound)
ANY_MESSAGE: TypeAdapter[Any_] = TypeAdapter(Any_)


def json_schema() -> dict[str, Any]:
    """The JSON schema of every message, as published in docs/exchange_protocol.schema.json."""
    schema = ANY_MESSAGE.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"hotline order exchange, format {FORMAT_VERSION}"
    return schema


if __name__ == "__main__":  # .venv/bin/python -m crm.domain.exchange_format > docs/…schema.json
    import json

    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))
