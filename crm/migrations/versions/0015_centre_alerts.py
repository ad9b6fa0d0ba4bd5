"""Alerts about the centre itself (a trunk leg down, back again): an alert without an order,
named by its subject (the trunk leg's AOR, trunk-110-primary); an order's alert keeps the
empty subject. One table for both, so the desks' panel, the publisher and the API list and
acknowledge them the same way.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_alerts") as batch:
        batch.alter_column("order_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(
            sa.Column("subject", sa.String(length=64), nullable=False, server_default="")
        )
        batch.create_index("ix_order_alerts_subject", ["subject"])


def downgrade() -> None:
    with op.batch_alter_table("order_alerts") as batch:
        batch.drop_index("ix_order_alerts_subject")
        batch.drop_column("subject")
    op.execute("DELETE FROM order_alerts WHERE order_id IS NULL")
    with op.batch_alter_table("order_alerts") as batch:
        batch.alter_column("order_id", existing_type=sa.Integer(), nullable=False)
