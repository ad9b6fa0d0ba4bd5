"""Retention: when a call's recording may be removed (pure).

A recording is kept while anything may still need it. It may go only once its call has an
outcome that is final, and that outcome is older than the configured period:

- the call has work orders and none is open (`OPEN_STATUSES`): counted from the last order's
  closing (`closed_at`; an order that left the open set without one, from its last change);
- the call has no order but a disposition chosen at the desk (wrong number, silent call …):
  counted from the call's end (the disposition is given at its wrap-up);
- no order and no disposition (no outcome yet), or any open order: kept, however old.

Only checked recordings (ATTACHED) are removed: a MISSING, TRUNCATED or ALTERED one is a
problem for a person to look at, and a PENDING one is not checked yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crm.domain.calls import RecordingStatus
from crm.domain.enums import OPEN_STATUSES, Status


@dataclass(frozen=True)
class OrderState:
    status: Status
    closed_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class RetentionFacts:
    """What retention needs to know of one recording and its call."""

    status: RecordingStatus
    call_ended_at: datetime | None
    disposed: bool
    orders: tuple[OrderState, ...]


def final_since(facts: RetentionFacts) -> datetime | None:
    """Since when the call's outcome is final; None while it is not (or not yet known)."""
    if facts.orders:
        if any(o.status in OPEN_STATUSES for o in facts.orders):
            return None
        return max(o.closed_at or o.updated_at for o in facts.orders)
    if facts.disposed:
        return facts.call_ended_at
    return None


def may_remove(facts: RetentionFacts, now: datetime, retention_days: int) -> bool:
    """True when the recording is past retention: attached, final, and old enough."""
    if facts.status is not RecordingStatus.ATTACHED:
        return False
    since = final_since(facts)
    return since is not None and now - since >= timedelta(days=retention_days)
