"""Request and response bodies of the alerts and emergency figures (`crm/api/alerts.py`)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from crm.api.call_schemas import When
from crm.api.schemas import Id, Note, Out
from crm.domain.enums import AlertKind, OrderType, Severity
from crm.intake import Strict


class AlertQuery(Strict):
    """Newest first; `unacknowledged=true` for what still needs someone's attention."""

    unacknowledged: bool = False
    kind: AlertKind | None = None
    order_id: Id | None = None
    limit: int = Field(default=100, ge=1, le=500)


class AlertOut(Out):
    """About an order, or (`order_id` null) about the centre itself: then `subject` names
    what it is about (a trunk leg: trunk-110-primary)."""

    id: int
    kind: AlertKind
    order_id: int | None
    subject: str = Field(description="a centre alert's subject; empty for an order's")
    order_number: str | None
    order_type: OrderType | None
    severity: Severity | None
    stability_clue: bool
    line: str = Field(description="110, 119, 120 or emergency_centre")
    raised_at: datetime
    due_at: datetime | None = Field(description="the limit the alert is about, if any")
    message: str = Field(description="for display (Chinese)")
    detail: dict[str, Any]
    published_at: datetime | None = Field(description="pushed to the supervisors' desks")
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    note: str


class AlertList(BaseModel):
    items: list[AlertOut]
    duty_leaders: list[str] = Field(description="the duty leaders told of major matters")


class AckIn(Strict):
    note: Note = ""


class FiguresQuery(Strict):
    """Emergency orders registered in [from, to] (a China-local day is through that day)."""

    from_: When = Field(alias="from")
    to: When


class LineFiguresOut(BaseModel):
    emergency_orders: int = Field(description="orders on the 10-minute clock")
    handed_over: int = Field(description="with a confirmed hand-over")
    in_time: int = Field(description="confirmed within 10 minutes of intake")
    late: int = Field(description="confirmed after the limit")
    unconfirmed_overdue: int = Field(description="no confirmed hand-over, the limit passed")
    still_open: int
    result_back: int = Field(description="the receiving centre's result closed the loop")


class FiguresOut(BaseModel):
    period_start: datetime = Field(description="registered from (inclusive)")
    period_end: datetime = Field(description="registered before")
    total: LineFiguresOut
    by_line: dict[str, LineFiguresOut]
