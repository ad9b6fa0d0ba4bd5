"""Callback keeping the place (回拨保留排队位置): a waiting caller's request to be called
back in their turn, and what each attempt's result makes of it.

A request is `waiting` (stored, its placeholder to be placed at `next_at`), `placed` (its
placeholder holds the caller's place in the queue, or the citizen is being dialled),
`reached` or `failed` (no answer after the last attempt). Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

ANSWERED = "ANSWER"  # ${DIALSTATUS} of a dial the citizen answered
# A placeholder no agent took (it timed out, or was hung up): no dial attempt, the citizen
# was never rung; the request is placed again later, first in its queue.
NOT_SERVED = "NOT_SERVED"


class CallbackState(StrEnum):
    WAITING = "waiting"
    PLACED = "placed"
    REACHED = "reached"
    FAILED = "failed"


OPEN = frozenset({CallbackState.WAITING, CallbackState.PLACED})
# A placeholder's call record: no call in (the caller's own call was offered; the wall's
# figures leave the placeholder out, its wait counting from its own join)
PLACEHOLDER_LABEL = "queue_callback"


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What a request becomes after an attempt: its state, when to place the next one."""

    state: CallbackState
    next_at: datetime | None


def after_attempt(
    result: str, attempts: int, max_attempts: int, now: datetime, retry_after_s: int
) -> AttemptOutcome:
    """The citizen answered: reached. Else another attempt `retry_after_s` later while fewer
    than `max_attempts` were made (`attempts` counts this one unless it was NOT_SERVED:
    never an end), then failed."""
    if result == ANSWERED:
        return AttemptOutcome(CallbackState.REACHED, None)
    if result == NOT_SERVED or attempts < max_attempts:
        return AttemptOutcome(CallbackState.WAITING, now + timedelta(seconds=retry_after_s))
    return AttemptOutcome(CallbackState.FAILED, None)


def counts(result: str) -> bool:
    """Whether an attempt's result is a dial of the citizen (counted against `attempts`)."""
    return result != NOT_SERVED


def result_of(dial_status: str, agent_answered: bool) -> str:
    """An attempt's result: the dial's status once an agent took the placeholder, NOT_SERVED
    if none did; a dial that returned nothing (the agent hung up first) says NOANSWER."""
    if not agent_answered:
        return NOT_SERVED
    return dial_status or "NOANSWER"
