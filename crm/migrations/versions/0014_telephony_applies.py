"""How each telephony configuration version's apply to the running centre went (applied at,
ok or failed, what was reloaded or why it failed).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telephony_applies",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["telephony_versions.version"],
            name=op.f("fk_telephony_applies_version_telephony_versions"),
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_telephony_applies")),
    )


def downgrade() -> None:
    op.drop_table("telephony_applies")
