"""The floor's trail (`floor_actions`): supervisors' actions on agents, who, role, target
agent, action, queue, reason, when, outcome.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "floor_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("from_queue", sa.String(length=64), nullable=False),
        sa.Column("pause_reason", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_floor_actions_at", "floor_actions", ["at"])
    op.create_index("ix_floor_actions_extension", "floor_actions", ["extension"])


def downgrade() -> None:
    op.drop_index("ix_floor_actions_extension", table_name="floor_actions")
    op.drop_index("ix_floor_actions_at", table_name="floor_actions")
    op.drop_table("floor_actions")
