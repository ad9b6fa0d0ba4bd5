"""Initial schema, with database-enforced append-only audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:15:54.638559
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END""",
    """CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_entries is append-only'; END $$""",
    """CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
       FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()""",
    """CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
       FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()""",
)


def _protect_audit_trail() -> None:
    """The audit trail must stay checkable (可追溯): refuse edits below the application."""
    dialect = op.get_bind().dialect.name
    statements = _POSTGRES_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "order_sequences",
        sa.Column("centre_code", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("centre_code", "day", name=op.f("pk_order_sequences")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("centre", "department", name="unitkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )
    op.create_table(
        "responsibility_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "unit_role",
            sa.Enum("lead", "assist", name="unitrole", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("order_types", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_responsibility_rules_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responsibility_rules")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "agent", "supervisor", "handler", "admin", name="role", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_users_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_users_token_hash")),
    )
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "phone",
                "police_handover",
                "web_message",
                "wechat",
                "other_hotline",
                name="channel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("caller_name", sa.String(length=100), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "order_type",
            sa.Enum(
                "consultation",
                "help",
                "suggestion",
                "complaint",
                "report",
                "other",
                "police",
                "fire",
                "medical",
                "disaster",
                name="ordertype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "urgency",
            sa.Enum("normal", "urgent", "immediate", name="urgency", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "general",
                "major",
                "serious",
                "especially_serious",
                name="severity",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "registered",
                "dispatched",
                "returned",
                "accepted",
                "contacted",
                "replied",
                "reopened",
                "closed",
                "not_accepted",
                "answered",
                "transferred",
                name="status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("lead_unit_id", sa.Integer(), nullable=True),
        sa.Column("registered_by", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("limit_start", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("due_provisional", sa.Boolean(), nullable=False),
        sa.Column("statutory_days", sa.Integer(), nullable=True),
        sa.Column("extensions_granted", sa.Integer(), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("extension_requested_days", sa.Integer(), nullable=True),
        sa.Column("transfer_due_at", sa.DateTime(), nullable=True),
        sa.Column("transferred_at", sa.DateTime(), nullable=True),
        sa.Column(
            "transfer_target",
            sa.Enum(
                "110",
                "119",
                "120",
                "122",
                "emergency_centre",
                name="transfertarget",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column(
            "satisfaction",
            sa.Enum(
                "satisfied",
                "basically_satisfied",
                "unsatisfied",
                name="satisfaction",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column(
            "not_accepted_reason",
            sa.Enum(
                "out_of_jurisdiction",
                "emergency_line_matter",
                "party_congress_court_military",
                "legal_procedure",
                "petition_channel",
                "repeat_without_new_facts",
                "secrets_or_privacy",
                "official_corruption",
                "malicious_or_empty",
                "other_unsuitable",
                name="notacceptedreason",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("repeat_of_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_unit_id"], ["units.id"], name=op.f("fk_work_orders_lead_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by"], ["users.id"], name=op.f("fk_work_orders_registered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["repeat_of_id"],
            ["work_orders.id"],
            name=op.f("fk_work_orders_repeat_of_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_work_orders_number")),
    )
    op.create_index(
        "ix_work_orders_caller_number_registered_at",
        "work_orders",
        ["caller_number", "registered_at"],
    )
    op.create_index("ix_work_orders_lead_unit_id_status", "work_orders", ["lead_unit_id", "status"])
    op.create_index("ix_work_orders_location_order_type", "work_orders", ["location", "order_type"])
    op.create_index(op.f("ix_work_orders_registered_at"), "work_orders", ["registered_at"])
    op.create_index("ix_work_orders_status_due_date", "work_orders", ["status", "due_date"])
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column(
            "actor_role",
            sa.Enum(
                "agent", "supervisor", "handler", "admin", name="role", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "registered",
                "dispatched",
                "returned",
                "accepted",
                "contacted",
                "replied",
                "reopened",
                "closed",
                "not_accepted",
                "answered",
                "transferred",
                name="status",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "registered",
                "dispatched",
                "returned",
                "accepted",
                "contacted",
                "replied",
                "reopened",
                "closed",
                "not_accepted",
                "answered",
                "transferred",
                name="status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_entries_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_audit_entries_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index(op.f("ix_audit_entries_order_id"), "audit_entries", ["order_id"])
    op.create_table(
        "order_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("recording", sa.String(length=500), nullable=False),
        sa.Column("attached_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_order_calls_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_calls")),
        sa.UniqueConstraint("order_id", "linkedid", name="uq_order_calls_order_link"),
    )
    op.create_index(op.f("ix_order_calls_linkedid"), "order_calls", ["linkedid"])
    op.create_index(op.f("ix_order_calls_order_id"), "order_calls", ["order_id"])
    op.create_table(
        "order_units",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "unit_role",
            sa.Enum("lead", "assist", name="unitrole", native_enum=False, length=32),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_order_units_order_id_work_orders")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_order_units_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("order_id", "unit_id", name=op.f("pk_order_units")),
    )
    op.create_index(op.f("ix_order_units_unit_id"), "order_units", ["unit_id"])
    op.create_table(
        "supervision_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["users.id"], name=op.f("fk_supervision_notices_issued_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
            name=op.f("fk_supervision_notices_order_id_work_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_supervision_notices_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_notices")),
    )
    op.create_index(op.f("ix_supervision_notices_order_id"), "supervision_notices", ["order_id"])
    _protect_audit_trail()


def downgrade() -> None:
    op.drop_index(op.f("ix_supervision_notices_order_id"), table_name="supervision_notices")
    op.drop_table("supervision_notices")
    op.drop_index(op.f("ix_order_units_unit_id"), table_name="order_units")
    op.drop_table("order_units")
    op.drop_index(op.f("ix_order_calls_order_id"), table_name="order_calls")
    op.drop_index(op.f("ix_order_calls_linkedid"), table_name="order_calls")
    op.drop_table("order_calls")
    op.drop_index(op.f("ix_audit_entries_order_id"), table_name="audit_entries")
    op.drop_table("audit_entries")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_entries_append_only()")
    op.drop_index("ix_work_orders_status_due_date", table_name="work_orders")
    op.drop_index(op.f("ix_work_orders_registered_at"), table_name="work_orders")
    op.drop_index("ix_work_orders_location_order_type", table_name="work_orders")
    op.drop_index("ix_work_orders_lead_unit_id_status", table_name="work_orders")
    op.drop_index("ix_work_orders_caller_number_registered_at", table_name="work_orders")
    op.drop_table("work_orders")
    op.drop_table("users")
    op.drop_table("responsibility_rules")
    op.drop_table("units")
    op.drop_table("order_sequences")
    op.drop_table("calendar_days")
