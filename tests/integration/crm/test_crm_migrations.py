"""The schema is created by the packaged migrations, and they run both ways."""

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.db.engine import create_engine
from crm.db.migrate import downgrade, migrate

pytestmark = pytest.mark.asyncio(loop_scope="session")

TABLES = {
    "units", "users", "work_orders", "order_units", "order_calls", "audit_entries",
    "supervision_notices", "responsibility_rules", "calendar_days", "order_sequences",
}  # fmt: skip


async def _tables(conn: AsyncConnection) -> set[str]:
    return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:  # the fixture's database is already at head
            await conn.run_sync(downgrade, "base")
            assert await _tables(conn) == {"alembic_version"}
        await migrate(engine)
        async with engine.connect() as conn:
            assert await _tables(conn) == TABLES | {"alembic_version"}
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("work_orders"))
        columns = {i["name"]: i["column_names"] for i in indexes}
        assert columns["ix_work_orders_caller_number_registered_at"] == [
            "caller_number",
            "registered_at",
        ]
        # repeat detection: partial indexes over open orders (0002)
        assert columns["ix_work_orders_open_caller"] == [
            "caller_number",
            "order_type",
            "registered_at",
        ]
        assert columns["ix_work_orders_open_location"] == [
            "location",
            "order_type",
            "registered_at",
        ]
        assert "ix_work_orders_location_order_type" not in columns
    finally:
        await engine.dispose()
