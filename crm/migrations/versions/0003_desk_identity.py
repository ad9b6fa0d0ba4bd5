"""Desk identity: a user's agent binding, its credential generation, and a trail of user changes.

An agent user works as one configured agent (`agent_extension`, unique among active users);
`generation` is bumped by every change that must end the user's open desktops. Columns are
added in place (no table rebuild: SQLite would have to drop `users`, which orders refer to).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER user_changes_no_update BEFORE UPDATE ON user_changes
       BEGIN SELECT RAISE(ABORT, 'user_changes is append-only'); END""",
    """CREATE TRIGGER user_changes_no_delete BEFORE DELETE ON user_changes
       BEGIN SELECT RAISE(ABORT, 'user_changes is append-only'); END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION user_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'user_changes is append-only'; END $$""",
    """CREATE TRIGGER user_changes_append_only BEFORE UPDATE OR DELETE ON user_changes
       FOR EACH ROW EXECUTE FUNCTION user_changes_append_only()""",
    """CREATE TRIGGER user_changes_no_truncate BEFORE TRUNCATE ON user_changes
       FOR EACH STATEMENT EXECUTE FUNCTION user_changes_append_only()""",
)


def upgrade() -> None:
    op.add_column("users", sa.Column("agent_extension", sa.String(length=15), nullable=True))
    op.add_column(
        "users", sa.Column("generation", sa.Integer(), nullable=False, server_default="1")
    )
    op.create_index(
        "ux_users_active_agent_extension",
        "users",
        ["agent_extension"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "user_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_changes_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_user_changes_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_changes")),
    )
    op.create_index(op.f("ix_user_changes_user_id"), "user_changes", ["user_id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION user_changes_append_only() CASCADE")
    op.drop_index(op.f("ix_user_changes_user_id"), table_name="user_changes")
    op.drop_table("user_changes")
    op.drop_index("ux_users_active_agent_extension", table_name="users")
    with op.batch_alter_table("users", recreate="never") as batch:
        batch.drop_column("generation")
        batch.drop_column("agent_extension")
