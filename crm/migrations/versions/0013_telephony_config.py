"""The telephony configuration's versions (the database is its source of truth; the
settings file seeds version 1), append-only like the trails.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER telephony_versions_no_update BEFORE UPDATE ON telephony_versions
       BEGIN SELECT RAISE(ABORT, 'telephony_versions is append-only'); END""",
    """CREATE TRIGGER telephony_versions_no_delete BEFORE DELETE ON telephony_versions
       BEGIN SELECT RAISE(ABORT, 'telephony_versions is append-only'); END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION telephony_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'telephony_versions is append-only'; END $$""",
    """CREATE TRIGGER telephony_versions_append_only BEFORE UPDATE OR DELETE
       ON telephony_versions FOR EACH ROW EXECUTE FUNCTION telephony_versions_append_only()""",
    """CREATE TRIGGER telephony_versions_no_truncate BEFORE TRUNCATE ON telephony_versions
       FOR EACH STATEMENT EXECUTE FUNCTION telephony_versions_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "telephony_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("reverted_from", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_telephony_versions_author_id_users")
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_telephony_versions")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION telephony_versions_append_only() CASCADE")
    op.drop_table("telephony_versions")
