"""Prepared statements convert values exactly as SQLAlchemy would, or refuse to compile."""

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, create_engine, insert, select
from sqlalchemy.dialects import sqlite

from crm.db.models import AuditEntry, WorkOrder
from crm.db.prepared import Prepared
from crm.domain.enums import Role, Status

AUDIT_COLUMNS = [
    "order_id", "at", "actor_id", "actor_role", "action", "from_status", "to_status", "detail",
]  # fmt: skip
AUDIT_ROW = {
    "order_id": 7,
    "at": datetime(2025, 9, 29, 2, 0, 0, 5),
    "actor_id": 3,
    "actor_role": Role.AGENT,
    "action": "register",
    "from_status": None,
    "to_status": Status.REGISTERED,
    "detail": {"number": "SZ12345-20250929-000001"},
}


def test_values_are_processed_by_their_column_types_in_positional_order() -> None:
    compiled = Prepared(insert(AuditEntry), AUDIT_COLUMNS).compiled(sqlite.dialect())
    assert compiled.sql.startswith("INSERT INTO audit_entries (order_id, at, actor_id")
    assert compiled.parameters(AUDIT_ROW) == [
        7, "2025-09-29 02:00:00.000005", 3, "agent", "register", None, "registered",
        '{"number": "SZ12345-20250929-000001"}',
    ]  # fmt: skip


def test_named_paramstyles_get_a_mapping() -> None:
    psycopg = create_engine("postgresql+psycopg://").dialect  # no connection is opened
    compiled = Prepared(insert(AuditEntry), AUDIT_COLUMNS).compiled(psycopg)
    params = compiled.parameters(AUDIT_ROW)
    assert isinstance(params, dict) and params["actor_role"] == "agent"


def test_values_fixed_in_the_statement_are_bound_too() -> None:
    query = select(WorkOrder.id).where(
        WorkOrder.caller_number == bindparam("number"), WorkOrder.status == Status.CLOSED
    )
    compiled = Prepared(query.limit(5)).compiled(sqlite.dialect())
    assert compiled.parameters({"number": "110"}) == ["110", "closed", 5, 0]


@pytest.mark.parametrize(
    ("statement", "columns"),
    [
        (insert(AuditEntry), AUDIT_COLUMNS[:-1]),  # `detail` has a Python-side default
        (select(WorkOrder.id).where(WorkOrder.status.in_([Status.CLOSED])), None),  # expanding
    ],
)
def test_what_only_an_execution_context_could_fill_in_is_refused(
    statement: Any, columns: list[str] | None
) -> None:
    with pytest.raises(ValueError, match="defaulted column"):
        Prepared(statement, columns).compiled(sqlite.dialect())
