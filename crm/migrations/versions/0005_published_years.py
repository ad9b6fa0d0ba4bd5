"""The years whose calendar schedule an admin marked complete (published).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-15 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_published_years")),
    )


def downgrade() -> None:
    op.drop_table("published_years")
