"""The emergency loop: hand-overs with the receiving centres, messages received from them,
alerts to supervisors; the orders' hand-over fields and the calls' emergency clock.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-22 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _code(length: int = 32) -> sa.String:
    return sa.String(length=length)


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(
            sa.Column("stability_clue", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("handed_over_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "handover_confirmed_by", sa.String(length=16), nullable=False, server_default=""
            )
        )
        batch.add_column(sa.Column("result_due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("transfer_warned_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("transfer_escalated_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("emergency_started_at", sa.DateTime(), nullable=True))
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("direction", _code(), nullable=False),
        sa.Column("line", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("format_version", sa.String(length=8), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", _code(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("incident_number", sa.String(length=64), nullable=False),
        sa.Column("remote_number", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("result_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_handovers_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
        sa.UniqueConstraint("message_id", name=op.f("uq_handovers_message_id")),
    )
    op.create_index("ix_handovers_order_id", "handovers", ["order_id"])
    op.create_index(
        "ix_handovers_status_next_attempt_at", "handovers", ["status", "next_attempt_at"]
    )
    op.create_table(
        "exchange_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            name=op.f("fk_exchange_receipts_handover_id_handovers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_receipts")),
        sa.UniqueConstraint("peer", "message_id", name="uq_exchange_receipts_once"),
    )
    op.create_table(
        "order_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", _code(), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_order_alerts_order_id_work_orders")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["users.id"], name=op.f("fk_order_alerts_acknowledged_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_alerts")),
    )
    op.create_index("ix_order_alerts_order_id", "order_alerts", ["order_id"])
    op.create_index("ix_order_alerts_published_at", "order_alerts", ["published_at"])


def downgrade() -> None:
    op.drop_table("order_alerts")
    op.drop_table("exchange_receipts")
    op.drop_table("handovers")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("emergency_started_at")
    with op.batch_alter_table("work_orders") as batch:
        for column in (
            "transfer_escalated_at", "transfer_warned_at", "result_due_at",
            "handover_confirmed_by", "handed_over_at", "stability_clue",
        ):  # fmt: skip
            batch.drop_column(column)
