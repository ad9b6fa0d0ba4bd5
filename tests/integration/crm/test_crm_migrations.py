"""The schema is created by the packaged migrations, and they run both ways."""

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.db.engine import create_engine, session_factory
from crm.db.migrate import downgrade, migrate
from crm.repo.directory import hash_token, user_by_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

TABLES = {
    "units", "users", "work_orders", "order_units", "order_calls", "audit_entries",
    "supervision_notices", "responsibility_rules", "calendar_days", "order_sequences",
    "user_changes", "admin_changes", "published_years",
    "call_records", "call_events", "recordings", "recording_access",
    "handovers", "exchange_receipts", "order_alerts",
    "floor_actions", "spy_sessions", "telephony_versions", "telephony_applies", "queue_callbacks",
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
        # one active user per agent extension (0003)
        async with engine.connect() as conn:
            user_indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("users"))
        binding = next(i for i in user_indexes if i["name"] == "ux_users_active_agent_extension")
        assert binding["column_names"] == ["agent_extension"] and binding["unique"]
    finally:
        await engine.dispose()


async def test_users_of_an_older_schema_keep_working_unbound(database_url: str) -> None:
    """0003 on a database with users: they keep their token, are bound to no agent yet (an
    admin binds them) and start at generation 1."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(downgrade, "0002")
            await conn.execute(
                text(
                    "INSERT INTO users (name, role, token_hash, active) "
                    "VALUES ('王芳', 'agent', :digest, true)"
                ),
                {"digest": hash_token("old-token")},
            )
        await migrate(engine)
        async with session_factory(engine)() as session:
            user = await user_by_token(session, "old-token")
        assert user is not None
        assert (user.name, user.agent_extension, user.generation) == ("王芳", None, 1)
    finally:
        await engine.dispose()


async def test_a_centre_alert_needs_no_order_and_goes_on_downgrade(database_url: str) -> None:
    engine = create_engine(database_url)
    insert = text(
        "INSERT INTO order_alerts (kind, subject, raised_at, detail, note) "
        "VALUES ('trunk_down', 'trunk-110-primary', '2026-12-02 02:00:00', '{}', '')"
    )
    try:
        async with engine.begin() as conn:  # at head (0015): no order, a subject
            await conn.execute(insert)
            columns = await conn.run_sync(lambda c: inspect(c).get_columns("order_alerts"))
            assert {c["name"]: c["nullable"] for c in columns}["order_id"] is True
            await conn.run_sync(downgrade, "0014")  # an alert without an order cannot stay
            assert (await conn.execute(text("SELECT count(*) FROM order_alerts"))).scalar() == 0
            columns = await conn.run_sync(lambda c: inspect(c).get_columns("order_alerts"))
            nullable = {c["name"]: c["nullable"] for c in columns}
            assert "subject" not in nullable and nullable["order_id"] is False
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(insert)
    finally:
        await engine.dispose()
