"""Partial indexes over open orders for repeat detection.

Finding the newest open order of a type from a caller walked the caller's whole history
through (caller_number, registered_at), reading a table row per entry; for frequent callers
that was the most expensive statement of registering an order. Partial indexes over open
orders answer with one seek, for the caller and for the place (replacing location/order_type).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# a copy of crm.db.models.OPEN_ORDER: queries match a partial index only if their predicate
# is the same
_OPEN_ORDER = sa.text(
    "status IN ('accepted', 'contacted', 'dispatched', 'registered', 'reopened', 'replied', "
    "'returned', 'transferred')"
)


def upgrade() -> None:
    op.drop_index("ix_work_orders_location_order_type", table_name="work_orders")
    for name, column in (
        ("ix_work_orders_open_caller", "caller_number"),
        ("ix_work_orders_open_location", "location"),
    ):
        op.create_index(
            name,
            "work_orders",
            [column, "order_type", "registered_at"],
            sqlite_where=_OPEN_ORDER,
            postgresql_where=_OPEN_ORDER,
        )


def downgrade() -> None:
    op.drop_index("ix_work_orders_open_location", table_name="work_orders")
    op.drop_index("ix_work_orders_open_caller", table_name="work_orders")
    op.create_index("ix_work_orders_location_order_type", "work_orders", ["location", "order_type"])
