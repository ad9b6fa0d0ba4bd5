"""A database error's text reaches the logs (the call log, the checker): it must not carry the
statement's parameters, which hold caller numbers and names."""

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.call_models import CallRecord
from crm.domain.calls import CallOutcome
from crm.domain.clock import utc_now

NUMBER, NAME = "13812345678", "张三丰"


async def test_a_refused_statement_names_no_caller_number(engine: AsyncEngine) -> None:
    row = {"linkedid": "1.1", "started_at": utc_now(), "updated_at": utc_now(),
           "outcome": CallOutcome.IN_PROGRESS, "caller_number": NUMBER,
           "caller_name": NAME}  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(insert(CallRecord).values(**row))
    with pytest.raises(IntegrityError) as refused:
        async with engine.begin() as conn:
            await conn.execute(insert(CallRecord).values(**row))  # the same primary key
    text = str(refused.value)
    assert "INSERT INTO" in text  # the statement is still named, for the log's reader
    assert NUMBER not in text and NAME not in text
