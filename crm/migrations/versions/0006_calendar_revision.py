"""An index for the calendar's revision: the count of calendar entries in the admin trail.

Every process keeping the working calendar reads this count on each use to see whether an
edit (made through any process) committed since it loaded the calendar (crm.repo.calendar).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-20 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_admin_changes_subject", "admin_changes", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_admin_changes_subject", table_name="admin_changes")
