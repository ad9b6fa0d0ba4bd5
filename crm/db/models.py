"""SQLAlchemy 2 typed models of the CRM; the schema itself is created by alembic migrations.

Timestamps are naive UTC (see crm.domain.clock); calendar dates (intake day, due date) are
China-local dates because the rules count Chinese working days.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm.domain.enums import (
    OPEN_STATUSES,
    Channel,
    NotAcceptedReason,
    OrderType,
    Role,
    Satisfaction,
    Severity,
    Status,
    TransferTarget,
    UnitKind,
    UnitRole,
    Urgency,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def code_enum(enum: type[StrEnum]) -> Enum:
    """Store an enum's stable value (not its Python name) in a plain VARCHAR."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Unit(Base):
    """The centre itself or a handling department (承办单位)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(code_enum(UnitKind))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # an agent's desk is one phone: one active user per extension (migration 0003)
        Index(
            "ux_users_active_agent_extension",
            "agent_extension",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(code_enum(Role))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the configured agent (extension) this user works as; agents only
    agent_extension: Mapped[str | None] = mapped_column(String(15))
    # bumped by every change that must end the user's open desktops (disabled, token revoked
    # or rotated, rebound); desktop tickets carry it
    generation: Mapped[int] = mapped_column(Integer, default=1)


class UserChange(Base):
    """Append-only trail of admin changes to users (never a token or its digest)."""

    __tablename__ = "user_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the CLI
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AdminChange(Base):
    """Append-only trail of admin changes to units, routing rules and the calendar (users
    have their own, `user_changes`)."""

    __tablename__ = "admin_changes"
    # the calendar's revision counts its subject's entries (crm.repo.calendar)
    __table_args__ = (Index("ix_admin_changes_subject", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject: Mapped[str] = mapped_column(String(16))  # unit, rule, calendar
    subject_id: Mapped[int | None] = mapped_column()  # the unit's or rule's id
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        # caller history (screen pop) reads the newest orders of one number
        Index("ix_work_orders_caller_number_registered_at", "caller_number", "registered_at"),
        Index("ix_work_orders_lead_unit_id_status", "lead_unit_id", "status"),
        Index("ix_work_orders_status_due_date", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    channel: Mapped[Channel] = mapped_column(code_enum(Channel))
    caller_name: Mapped[str] = mapped_column(String(100), default="")
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    location: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    order_type: Mapped[OrderType] = mapped_column(code_enum(OrderType))
    urgency: Mapped[Urgency] = mapped_column(code_enum(Urgency))
    severity: Mapped[Severity] = mapped_column(code_enum(Severity))
    status: Mapped[Status] = mapped_column(code_enum(Status))
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # deadline: recomputable from limit_start (intake, or rework), type, statutory limit and
    # approved extensions
    limit_start: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    statutory_days: Mapped[int | None] = mapped_column(Integer)
    extensions_granted: Mapped[int] = mapped_column(Integer, default=0)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_requested_days: Mapped[int | None] = mapped_column(Integer)
    # emergencies: 10-minute transfer clock
    transfer_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    transferred_at: Mapped[datetime | None] = mapped_column(DateTime)
    transfer_target: Mapped[TransferTarget | None] = mapped_column(code_enum(TransferTarget))
    # the emergency loop (migration 0008): a clue threatening social stability goes to 110
    # like an emergency (rules §8); the hand-over is confirmed by the receiving centre's
    # acceptance ("peer") or a supervisor's recorded decision ("supervisor"), then its result
    # is due by result_due_at; the clock's warning and escalation are stamped once each
    stability_clue: Mapped[bool] = mapped_column(Boolean, default=False)
    handed_over_at: Mapped[datetime | None] = mapped_column(DateTime)
    handover_confirmed_by: Mapped[str] = mapped_column(String(16), default="")
    result_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    transfer_warned_at: Mapped[datetime | None] = mapped_column(DateTime)
    transfer_escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # outcome
    result: Mapped[str] = mapped_column(Text, default="")
    satisfaction: Mapped[Satisfaction | None] = mapped_column(code_enum(Satisfaction))
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    not_accepted_reason: Mapped[NotAcceptedReason | None] = mapped_column(
        code_enum(NotAcceptedReason)
    )
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))

    assists: Mapped[list["OrderUnit"]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="OrderUnit.unit_id"
    )
    calls: Mapped[list["OrderCall"]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="OrderCall.id"
    )


# Open orders, with the statuses as literals: a partial index only serves queries whose own
# predicate matches it, textually for SQLite and provably for PostgreSQL, and bound parameters
# never do. Migration 0002 holds a copy; keep the two (and their order) identical.
OPEN_ORDER = WorkOrder.status.in_([literal_column(f"'{s.value}'") for s in sorted(OPEN_STATUSES)])

# repeat detection looks for the newest open order of a type from a number or at a place:
# one index seek each, over open orders only (history keeps its own caller index)
Index(
    "ix_work_orders_open_caller",
    WorkOrder.caller_number,
    WorkOrder.order_type,
    WorkOrder.registered_at,
    sqlite_where=OPEN_ORDER,
    postgresql_where=OPEN_ORDER,
)
Index(
    "ix_work_orders_open_location",
    WorkOrder.location,
    WorkOrder.order_type,
    WorkOrder.registered_at,
    sqlite_where=OPEN_ORDER,
    postgresql_where=OPEN_ORDER,
)


class OrderUnit(Base):
    """An assisting unit (协办) of an order; the lead unit lives on the order itself."""

    __tablename__ = "order_units"

    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    unit_role: Mapped[UnitRole] = mapped_column(code_enum(UnitRole))


class OrderCall(Base):
    """A call (Asterisk Linkedid) an order came from, with its recording once stored."""

    __tablename__ = "order_calls"
    __table_args__ = (UniqueConstraint("order_id", "linkedid", name="uq_order_calls_order_link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    recording: Mapped[str] = mapped_column(String(500), default="")
    attached_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    """Append-only trail of every change; database triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[Role] = mapped_column(code_enum(Role))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[Status | None] = mapped_column(code_enum(Status))
    to_status: Mapped[Status] = mapped_column(code_enum(Status))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SupervisionNotice(Base):
    """督办通知单 for an order past its limit; followed until the order is done."""

    __tablename__ = "supervision_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    issued_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


class ResponsibilityRuleRow(Base):
    """One line of the responsibility list (职责清单), edited by admins."""

    __tablename__ = "responsibility_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit_role: Mapped[UnitRole] = mapped_column(code_enum(UnitRole))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    order_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")


class CalendarDay(Base):
    """An admin-entered holiday or adjusted working day, for years the package lacks."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(100), default="")


class PublishedYear(Base):
    """A year whose whole schedule an admin has entered: counted without predicted holidays,
    and its due dates are no longer provisional."""

    __tablename__ = "published_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class OrderSequence(Base):
    """Last order number handed out per centre and local day."""

    __tablename__ = "order_sequences"

    centre_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)
