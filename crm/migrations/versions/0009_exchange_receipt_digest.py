"""A digest of each received exchange message's body, so a peer re-sending a message we
carried out (its first answer lost) gets that answer again, and an altered body under the same
id stays a replay.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-23 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_receipts") as batch:
        # receipts kept before this have none: a re-send of one of those stays refused
        batch.add_column(sa.Column("body_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchange_receipts") as batch:
        batch.drop_column("body_digest")
