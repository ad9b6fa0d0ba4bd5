"""Request and response bodies of the REST API (pydantic), the source of its OpenAPI document.

Every request model is strict (no `1` for true, no `true` or `1e2` for a number), forbids
unknown fields and bounds every string, number, date and list, so a typo or a runaway client
is refused with a 400 naming the field instead of being silently ignored or failing in the
database. Every text field is one of two shared types, `Line` or `Prose` (see `crm.text`); the
order form, which the desk shares, is `crm.intake`.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel

from crm.domain import commands as c
from crm.domain.enums import (
    Action,
    Channel,
    NotAcceptedReason,
    OrderType,
    Role,
    Satisfaction,
    Severity,
    Status,
    TransferTarget,
    Urgency,
)
from crm.intake import CallerName, Location, OrderText, PhoneNumber, StatutoryDays, Strict
from crm.text import Line, Prose, iso_day

# Ids are database integers: 1..2^31-1 fits SQLite and PostgreSQL's INTEGER alike.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Dates a caller may name (filters): wide enough for any real order, narrow enough that
# a day later or the China-local midnight before still exists.
MIN_DAY, MAX_DAY = date(1900, 1, 1), date(2199, 12, 31)
Day = Annotated[
    date,
    Field(ge=MIN_DAY, le=MAX_DAY, description="between 1900-01-01 and 2199-12-31"),
    BeforeValidator(iso_day),
]
# Calendar years admins may enter (the years the calendar query may ask for).
MIN_YEAR, MAX_YEAR = 2000, 2100
CalendarDay = Annotated[
    date,
    Field(ge=date(MIN_YEAR, 1, 1), le=date(MAX_YEAR, 12, 31),
          description="between 2000-01-01 and 2100-12-31"),
    BeforeValidator(iso_day),
]  # fmt: skip

Note = Annotated[Prose, Field(max_length=2000)]
Reason = Annotated[Prose, Field(min_length=1, max_length=2000)]


def _unchanged_when_omitted(schema: dict[str, Any]) -> None:
    """A PATCH field has no default: omitted means unchanged, whatever Python's default."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
        prop["description"] = "unchanged when omitted"


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---- orders -------------------------------------------------------------------------------


class OrderPatch(Strict):
    """The intake details the centre may correct before dispatch; only those given change."""

    model_config = ConfigDict(json_schema_extra=_unchanged_when_omitted)

    caller_name: CallerName = ""
    confidential: bool = False
    location: Location = ""
    text: OrderText = ""
    order_type: OrderType = OrderType.CONSULTATION
    urgency: Urgency = Urgency.NORMAL
    severity: Severity = Severity.GENERAL
    statutory_days: StatutoryDays | None = None
    stability_clue: bool = False


class CallOut(Out):
    linkedid: str
    recording: str
    attached_at: datetime


class OrderOut(Out):
    id: int
    number: str
    channel: Channel
    caller_name: str
    caller_number: str
    confidential: bool
    location: str
    text: str
    order_type: OrderType
    urgency: Urgency
    severity: Severity
    status: Status
    lead_unit_id: int | None
    assist_unit_ids: list[int]
    registered_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    due_date: date | None
    due_provisional: bool = Field(
        description="counted over a year whose holidays are not published: its statutory "
        "holidays are predicted from the rules, its adjusted working weekends (调休) cannot be; "
        "recounted when an admin enters the year's days (PUT /api/calendar/days)"
    )
    due_date_note: str | None = Field(
        description="why a provisional due date may still move (Chinese, for display); "
        "null when the due date is final"
    )
    overdue: bool
    transfer_due_at: datetime | None = Field(
        description="the 10-minute hand-over limit of an emergency order or stability clue"
    )
    transferred_at: datetime | None
    transfer_target: TransferTarget | None
    stability_clue: bool
    handed_over_at: datetime | None = Field(
        description="the confirmed hand-over: the receiving centre's acceptance or a "
        "supervisor's recorded decision (the clock stops here)"
    )
    handover_confirmed_by: str = Field(description='"peer", "supervisor" or "" (not yet)')
    result_due_at: datetime | None = Field(
        description="the receiving centre's result is due by then (then an alert)"
    )
    transfer_warned_at: datetime | None
    transfer_escalated_at: datetime | None
    extensions_granted: int
    extension_days: int
    extension_requested_days: int | None
    result: str
    satisfaction: Satisfaction | None
    rework_count: int
    not_accepted_reason: NotAcceptedReason | None
    repeat_of_id: int | None
    calls: list[CallOut]
    allowed_actions: list[Action]


class OrderPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[OrderOut]


class ListQuery(Strict):
    """Filters of the order list; dates are China-local registration dates, inclusive."""

    status: Status | None = None
    unit_id: Id | None = None
    order_type: OrderType | None = None
    overdue: bool | None = None
    date_from: Day | None = None
    date_to: Day | None = None
    caller_number: PhoneNumber | None = None
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=50, ge=1, le=200)


class AuditOut(Out):
    id: int
    at: datetime
    actor_id: int
    actor_role: Role
    action: str
    from_status: Status | None
    to_status: Status
    detail: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditOut]


class HistoryItemOut(Out):
    id: int
    number: str
    registered_at: datetime
    order_type: OrderType
    status: Status
    excerpt: str
    caller_name: str
    confidential: bool


class HistoryOut(BaseModel):
    number: str
    items: list[HistoryItemOut]


class HistoryQuery(Strict):
    limit: int = Field(default=10, ge=1, le=100)


class SuggestionOut(Out):
    lead_unit_id: int
    assist_unit_ids: list[int]
    matched_rule_ids: list[int]
    matched_keywords: list[str]
    first_contact: bool


# ---- transitions: one body per action, told apart by "action" ------------------------------


class DispatchIn(Strict):
    action: Literal["dispatch"]
    lead_unit_id: Id
    assist_unit_ids: list[Id] = Field(default_factory=list, max_length=20)
    note: Note = ""

    def command(self) -> c.Command:
        return c.Dispatch(self.lead_unit_id, tuple(self.assist_unit_ids), self.note)


class AcceptIn(Strict):
    action: Literal["accept"]
    note: Note = ""

    def command(self) -> c.Command:
        return c.Accept(self.note)


class ReturnIn(Strict):
    action: Literal["return"]
    reason: Reason

    def command(self) -> c.Command:
        return c.Return(self.reason)


class LogContactIn(Strict):
    action: Literal["log_contact"]
    note: Reason

    def command(self) -> c.Command:
        return c.LogContact(self.note)


class ReplyIn(Strict):
    action: Literal["reply"]
    result: Reason

    def command(self) -> c.Command:
        return c.Reply(self.result)


class CallbackIn(Strict):
    action: Literal["callback"]
    satisfaction: Satisfaction
    note: Note = ""

    def command(self) -> c.Command:
        return c.Callback(self.satisfaction, self.note)


class ReopenIn(Strict):
    action: Literal["reopen"]
    reason: Reason

    def command(self) -> c.Command:
        return c.Reopen(self.reason)


class NotAcceptIn(Strict):
    action: Literal["not_accept"]
    reason: NotAcceptedReason
    explanation: Note = ""

    def command(self) -> c.Command:
        return c.NotAccept(self.reason, self.explanation)


class AnswerNowIn(Strict):
    action: Literal["answer_now"]
    answer: Reason
    knowledge_ref: Line = Field(default="", max_length=200)

    def command(self) -> c.Command:
        return c.AnswerNow(self.answer, self.knowledge_ref)


class TransferIn(Strict):
    action: Literal["transfer"]
    target: TransferTarget
    note: Note = ""

    def command(self) -> c.Command:
        return c.Transfer(self.target, self.note)


class TransferFeedbackIn(Strict):
    action: Literal["transfer_feedback"]
    result: Reason

    def command(self) -> c.Command:
        return c.TransferFeedback(self.result)


class HandoverDecisionIn(Strict):
    """A supervisor confirms a hand-over by other means (the operator confirmed on the phone,
    no exchange with the line); the note says how."""

    action: Literal["handover_decision"]
    note: Reason

    def command(self) -> c.Command:
        return c.HandoverDecision(self.note)


class RequestExtensionIn(Strict):
    action: Literal["request_extension"]
    days: int = Field(ge=1, le=30)
    reason: Reason

    def command(self) -> c.Command:
        return c.RequestExtension(self.days, self.reason)


class DecideExtensionIn(Strict):
    action: Literal["decide_extension"]
    approve: bool
    note: Note = ""

    def command(self) -> c.Command:
        return c.DecideExtension(self.approve, self.note)


class SuperviseIn(Strict):
    action: Literal["supervise"]
    note: Note = ""

    def command(self) -> c.Command:
        return c.Supervise(self.note)


class TransitionIn(
    RootModel[
        Annotated[
            DispatchIn
            | AcceptIn
            | ReturnIn
            | LogContactIn
            | ReplyIn
            | CallbackIn
            | ReopenIn
            | NotAcceptIn
            | AnswerNowIn
            | TransferIn
            | TransferFeedbackIn
            | HandoverDecisionIn
            | RequestExtensionIn
            | DecideExtensionIn
            | SuperviseIn,
            Field(discriminator="action"),
        ]
    ]
):
    """A command on an order; the fields allowed depend on `action`."""


# ---- supervision ---------------------------------------------------------------------------


class SweepOut(BaseModel):
    issued: list[str]


# ---- directory and configuration -----------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
