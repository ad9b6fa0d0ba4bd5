"""The call log: every call on record, its events, its recordings and who listened to them.

`recording_access` is append-only like the other trails (triggers refuse UPDATE and DELETE).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-21 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER recording_access_no_update BEFORE UPDATE ON recording_access
       BEGIN SELECT RAISE(ABORT, 'recording_access is append-only'); END""",
    """CREATE TRIGGER recording_access_no_delete BEFORE DELETE ON recording_access
       BEGIN SELECT RAISE(ABORT, 'recording_access is append-only'); END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION recording_access_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'recording_access is append-only'; END $$""",
    """CREATE TRIGGER recording_access_append_only BEFORE UPDATE OR DELETE ON recording_access
       FOR EACH ROW EXECUTE FUNCTION recording_access_append_only()""",
    """CREATE TRIGGER recording_access_no_truncate BEFORE TRUNCATE ON recording_access
       FOR EACH STATEMENT EXECUTE FUNCTION recording_access_append_only()""",
)


def _code(length: int = 32) -> sa.String:
    return sa.String(length=length)


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=False),
        sa.Column("caller_name", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ivr_choice", sa.String(length=8), nullable=False),
        sa.Column("ivr_label", sa.String(length=32), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=True),
        sa.Column("rang_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("agent_extension", sa.String(length=16), nullable=False),
        sa.Column("agent_name", sa.String(length=40), nullable=False),
        sa.Column("outcome", _code(), nullable=False),
        sa.Column("end_reason", sa.String(length=200), nullable=False),
        sa.Column("emergency_line", sa.String(length=8), nullable=False),
        sa.Column("disposition", _code(), nullable=True),
        sa.Column("disposition_note", sa.Text(), nullable=False),
        sa.Column("disposed_by", sa.Integer(), nullable=True),
        sa.Column("disposed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["disposed_by"], ["users.id"], name=op.f("fk_call_records_disposed_by_users")
        ),
        sa.PrimaryKeyConstraint("linkedid", name=op.f("pk_call_records")),
    )
    op.create_index("ix_call_records_caller_number", "call_records", ["caller_number"])
    op.create_index("ix_call_records_started_at", "call_records", ["started_at"])
    op.create_index(
        "ix_call_records_outcome_started_at", "call_records", ["outcome", "started_at"]
    )
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", _code(), nullable=False),
        sa.Column("agent", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["linkedid"],
            ["call_records.linkedid"],
            name=op.f("fk_call_events_linkedid_call_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_events")),
        sa.UniqueConstraint("linkedid", "kind", "at", "agent", name="uq_call_events_once"),
    )
    op.create_index("ix_call_events_linkedid", "call_events", ["linkedid"])
    op.create_index("ix_call_events_agent", "call_events", ["agent"])
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("status", _code(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("compressed_at", sa.DateTime(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["linkedid"],
            ["call_records.linkedid"],
            name=op.f("fk_recordings_linkedid_call_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("linkedid", "part", name="uq_recordings_call_part"),
        sa.UniqueConstraint("path", name=op.f("uq_recordings_path")),
    )
    op.create_index("ix_recordings_linkedid", "recordings", ["linkedid"])
    op.create_index("ix_recordings_status", "recordings", ["status"])
    op.create_table(
        "recording_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", _code(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("byte_range", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_access_recording_id_recordings"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recording_access_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_access")),
    )
    op.create_index("ix_recording_access_recording_id", "recording_access", ["recording_id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION recording_access_append_only() CASCADE")
    op.drop_table("recording_access")
    op.drop_table("recordings")
    op.drop_table("call_events")
    op.drop_table("call_records")
