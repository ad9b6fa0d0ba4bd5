"""The emergency loop's tables: hand-overs exchanged with the receiving centres (110, the
emergency centre), the messages received from them (each once), and the alerts raised to
supervisors. Created by migration 0008; times are naive UTC.

A hand-over is stored before it is sent and sent again until the peer acknowledges it, so
neither a failing receiver nor a backend restart loses one; its `message_id` is the
idempotency key the peer sees on every attempt.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.db.models import Base, code_enum
from crm.domain.enums import AlertKind, HandoverDirection, HandoverStatus


class Handover(Base):
    """One matter handed to a receiving centre (outbound) or by one to us (inbound)."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    direction: Mapped[HandoverDirection] = mapped_column(code_enum(HandoverDirection))
    line: Mapped[str] = mapped_column(String(8))  # 110 / 119 / 120: the peer
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # idempotency key
    format_version: Mapped[str] = mapped_column(String(8))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # as sent (or received)
    status: Mapped[HandoverStatus] = mapped_column(code_enum(HandoverStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    linkedid: Mapped[str] = mapped_column(String(64), default="")  # the call, if any
    created_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    incident_number: Mapped[str] = mapped_column(String(64), default="")  # the peer's number
    remote_number: Mapped[str] = mapped_column(String(64), default="")  # inbound: its order
    result: Mapped[str] = mapped_column(Text, default="")
    result_at: Mapped[datetime | None] = mapped_column(DateTime)


Index("ix_handovers_status_next_attempt_at", Handover.status, Handover.next_attempt_at)


class ExchangeReceipt(Base):
    """A message a peer sent us, kept by its id and its body's digest: the same id with the
    same body is a re-send (answered as the first time), with another body a replay."""

    __tablename__ = "exchange_receipts"
    __table_args__ = (UniqueConstraint("peer", "message_id", name="uq_exchange_receipts_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    handover_id: Mapped[int | None] = mapped_column(ForeignKey("handovers.id"))
    body_digest: Mapped[str | None] = mapped_column(String(64))  # sha256 hex; None before 0009


class OrderAlert(Base):
    """Something supervisors must see at once about an order, or about the centre itself
    (no order, a `subject`: since 0015); pushed to their desks once (`published_at`)."""

    __tablename__ = "order_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), index=True)
    subject: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    kind: Mapped[AlertKind] = mapped_column(code_enum(AlertKind))
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")
