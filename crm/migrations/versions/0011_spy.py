"""Supervisors' listen / whisper / barge: every spy session on record (who, on whose call,
each mode with its time, start, end), and recordings told apart by kind (a supervisor's
whisper and barge are their own file, linked to the call, besides the call's recording).

Revision ID: 0011
Revises: 0010 (0010_floor)
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="call")
        )
    op.create_table(
        "spy_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uniqueid", sa.String(length=40), nullable=False, unique=True),
        sa.Column("supervisor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("phone", sa.String(length=8), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False, index=True),
        sa.Column("agent", sa.String(length=8), nullable=False),
        sa.Column("modes", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("joined_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("end_code", sa.String(length=24), nullable=False),
        sa.Column("recording", sa.String(length=200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("spy_sessions")
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("kind")
