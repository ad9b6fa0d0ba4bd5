"""Callback requests keeping the caller's place in the queue (`queue_callbacks`).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_callbacks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.Integer(), nullable=False),
        sa.Column("front", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=True),
        sa.Column("last_result", sa.String(length=32), nullable=False),
        sa.Column("placeholder", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("linkedid", name="uq_queue_callbacks_linkedid"),
    )
    op.create_index("ix_queue_callbacks_state_next_at", "queue_callbacks", ["state", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_queue_callbacks_state_next_at", table_name="queue_callbacks")
    op.drop_table("queue_callbacks")
