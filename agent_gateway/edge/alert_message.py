"""The `alert` message: something about an emergency order that supervisors (and the duty
leaders) must see at once, pushed to the supervisors' topic on the bus and to the duty
leaders' own desk topics. Pure: no I/O;
`agent_gateway.edge.protocol` lists it among the bus messages and in the schema. Its kinds are
the CRM's `AlertKind` (tests/unit/test_alert_message.py keeps the two in step; the edge
imports no crm)."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from pydantic import Field

from agent_gateway.edge.message_rules import Out

AlertKindName: TypeAlias = Literal[
    "transfer_warning",
    "transfer_escalation",
    "severity",
    "stability_clue",
    "handover_rejected",
    "handover_undelivered",
    "result_overdue",
    "inbound_matter",
    "trunk_down",
    "trunk_up",
]


class Alert(Out):
    """Something about an order, or about the centre itself (no order: a trunk leg down),
    that supervisors (and the duty leaders) must see at once: pushed once to the supervisors'
    topic when raised; acknowledged through the CRM API."""

    type: Literal["alert"] = "alert"
    alert_id: int = Field(description="the CRM's alert id (POST /api/alerts/{id}/ack)")
    kind: AlertKindName
    order_id: int | None = Field(default=None, description="null: a centre alert")
    subject: str = Field(default="", description="a centre alert's subject (trunk-110-primary)")
    order_number: str | None = None
    order_type: str | None = None
    severity: str | None = Field(
        default=None, description="general, major, serious or especially_serious"
    )
    stability_clue: bool = False
    line: str | None = Field(
        default=None,
        description="110, 119, 120 or emergency_centre: where the order is (to be) handed",
    )
    raised_at: float = Field(description="epoch seconds")
    due_at: float | None = Field(
        default=None,
        description="the clock it is about: the hand-over limit (transfer_due_at) or the "
        "result's (result_due_at), epoch seconds",
    )
    duty_leaders: list[str] = Field(
        default_factory=list, description="the duty leaders (CRM user names) also notified"
    )
    message: str = Field(description="what happened, in Chinese, for display")
    detail: dict[str, Any] = Field(default_factory=dict)
