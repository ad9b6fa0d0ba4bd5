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
        assert {"caller_number", "registered_at"} == set(
            next(i for i in indexes if (i["name"] or "").startswith("ix_work_orders_caller"))[
                "column_names"
            ]
        )
    finally:
        await engine.dispose()
