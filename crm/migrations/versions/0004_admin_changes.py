"""A trail of admin changes to units, routing rules and the calendar, append-only like the others.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER admin_changes_no_update BEFORE UPDATE ON admin_changes
       BEGIN SELECT RAISE(ABORT, 'admin_changes is append-only'); END""",
    """CREATE TRIGGER admin_changes_no_delete BEFORE DELETE ON admin_changes
       BEGIN SELECT RAISE(ABORT, 'admin_changes is append-only'); END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION admin_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'admin_changes is append-only'; END $$""",
    """CREATE TRIGGER admin_changes_append_only BEFORE UPDATE OR DELETE ON admin_changes
       FOR EACH ROW EXECUTE FUNCTION admin_changes_append_only()""",
    """CREATE TRIGGER admin_changes_no_truncate BEFORE TRUNCATE ON admin_changes
       FOR EACH STATEMENT EXECUTE FUNCTION admin_changes_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "admin_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_admin_changes_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_changes")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION admin_changes_append_only() CASCADE")
    op.drop_table("admin_changes")
