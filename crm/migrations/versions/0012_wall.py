"""An index on call_records.updated_at: the live wall reads, every round, only the records
written since its last round.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 19:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_call_records_updated_at", "call_records", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_call_records_updated_at", table_name="call_records")
