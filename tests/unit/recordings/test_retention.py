"""The retention rule: only attached recordings of calls whose outcome is final and old."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crm.domain.calls import RecordingStatus
from crm.domain.enums import Status
from recordings.retention import OrderState, RetentionFacts, may_remove

NOW = datetime(2026, 12, 1, 12, 0)
DAYS = 30
OLD = NOW - timedelta(days=DAYS, seconds=1)
YOUNG = NOW - timedelta(days=DAYS - 1)


def facts(*orders: OrderState, disposed: bool = False, ended: datetime | None = OLD,
          status: RecordingStatus = RecordingStatus.ATTACHED) -> RetentionFacts:  # fmt: skip
    return RetentionFacts(status=status, call_ended_at=ended, disposed=disposed, orders=orders)


def order(status: Status, closed_at: datetime | None, updated_at: datetime = OLD) -> OrderState:
    return OrderState(status, closed_at, updated_at)


def test_closed_order_closed_long_ago_is_removed() -> None:
    assert may_remove(facts(order(Status.CLOSED, OLD)), NOW, DAYS)


def test_counted_from_the_closing_not_the_call() -> None:
    call_long_ago = NOW - timedelta(days=400)
    assert not may_remove(facts(order(Status.CLOSED, YOUNG), ended=call_long_ago), NOW, DAYS)


def test_exactly_at_the_limit_is_removed() -> None:
    assert may_remove(facts(order(Status.CLOSED, NOW - timedelta(days=DAYS))), NOW, DAYS)


@pytest.mark.parametrize("status", sorted(s for s in Status if s is not Status.CLOSED))
def test_never_while_an_order_is_open(status: Status) -> None:
    from crm.domain.enums import OPEN_STATUSES

    verdict = may_remove(facts(order(Status.CLOSED, OLD), order(status, None)), NOW, DAYS)
    assert verdict is (status not in OPEN_STATUSES)


def test_the_last_closing_counts() -> None:
    assert not may_remove(facts(order(Status.CLOSED, OLD), order(Status.CLOSED, YOUNG)), NOW, DAYS)


def test_an_order_closed_without_a_closing_time_counts_from_its_last_change() -> None:
    assert may_remove(facts(order(Status.NOT_ACCEPTED, None, OLD)), NOW, DAYS)
    assert not may_remove(facts(order(Status.NOT_ACCEPTED, None, YOUNG)), NOW, DAYS)


def test_disposed_call_without_order_counts_from_the_call_end() -> None:
    assert may_remove(facts(disposed=True, ended=OLD), NOW, DAYS)
    assert not may_remove(facts(disposed=True, ended=YOUNG), NOW, DAYS)
    assert not may_remove(facts(disposed=True, ended=None), NOW, DAYS)


def test_no_outcome_yet_is_kept_however_old() -> None:
    assert not may_remove(facts(ended=NOW - timedelta(days=4000)), NOW, DAYS)


@pytest.mark.parametrize("status", sorted(set(RecordingStatus) - {RecordingStatus.ATTACHED}))
def test_only_attached_recordings_are_removed(status: RecordingStatus) -> None:
    assert not may_remove(facts(order(Status.CLOSED, OLD), status=status), NOW, DAYS)
