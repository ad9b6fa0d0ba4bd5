"""Callback requests keeping the caller's place, stored: one per call, placed, each attempt's
result (a report of an older placeholder ignored), retried at the front, failed at the last,
and placed again when Asterisk lost the placeholder."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.callback_models import QueueCallbackRow
from crm.db.engine import session_factory
from crm.domain.queue_callback import CallbackState
from crm.usecases import queue_callbacks as uc

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOW = datetime(2026, 12, 2, 5, 0)


async def test_a_request_from_its_call_to_its_last_attempt(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        request = await uc.store_request(s, "1.1", "hotline", "13900000002", 3, 1796188600, NOW)
        again = await uc.store_request(s, "1.1", "hotline", "13900000002", 1, 1796188600, NOW)
    assert again == request  # one request per call
    async with sessions() as s, s.begin():
        assert [r.id for r in await uc.due_requests(s, NOW)] == [request]
        await uc.mark_placed(s, request, "p1", NOW)
        assert await uc.due_requests(s, NOW) == []
        stale = await uc.record_attempt(s, request, "p0", "NOANSWER", NOW, 2, 60)
        assert stale is None  # not the placeholder it is at
        state = await uc.record_attempt(s, request, "p1", "NOANSWER", NOW, 2, 60)
    assert state is CallbackState.WAITING
    async with sessions() as s:
        row = await s.get(QueueCallbackRow, request)
        assert row is not None
        assert (row.attempts, row.position, row.front) == (1, 1, True)  # at the front now
        assert row.queued_at == 1796188600
        assert row.next_at == NOW + timedelta(seconds=60)
        assert await uc.due_requests(s, NOW) == []
        assert [r.id for r in await uc.due_requests(s, NOW + timedelta(seconds=60))] == [request]
    async with sessions() as s, s.begin():
        await uc.mark_placed(s, request, "p2", NOW)
        unserved = await uc.record_attempt(s, request, "p2", "NOT_SERVED", NOW, 2, 60)
    assert unserved is CallbackState.WAITING  # no agent took it: the citizen was never rung
    async with sessions() as s, s.begin():
        row = await s.get(QueueCallbackRow, request)
        assert row is not None and (row.attempts, row.front) == (1, True)
        await uc.mark_placed(s, request, "p2", NOW)
        await uc.place_again(s, request, NOW)  # Asterisk lost it: not an attempt
        assert [r.id for r in await uc.due_requests(s, NOW)] == [request]
        await uc.mark_placed(s, request, "p3", NOW)
        state = await uc.record_attempt(s, request, "p3", "BUSY", NOW, 2, 60)
    assert state is CallbackState.FAILED
    async with sessions() as s:
        row = await s.get(QueueCallbackRow, request)
        assert row is not None and (row.attempts, row.last_result) == (2, "BUSY")
        assert await uc.open_requests(s) == []


async def test_a_reached_citizen_closes_the_request(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        request = await uc.store_request(s, "2.2", "hotline", "13900000003", 1, 1796188600, NOW)
        await uc.mark_placed(s, request, "p1", NOW)
        assert await uc.record_attempt(s, request, "p1", "ANSWER", NOW, 3, 60) is (
            CallbackState.REACHED
        )
