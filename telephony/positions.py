"""Who hears their queue position, and when: pure rules over the tracker's calls.

app_queue's own position announcements play inside its waiting loop and block it, so a
caller hearing one is not rung (see README, "free agents left unrung"); the backend
announces instead, over a whisper that app_queue does not wait for (`announcer.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from telephony.call import Call, CallState
from telephony.dialplan import dialable

ANNOUNCE_EVERY_S = 30.0  # as app_queue's announce-frequency was


@dataclass(frozen=True)
class Announcement:
    uniqueid: str  # the caller's channel
    queue: str
    position: int  # 1 = next to be answered


def positions(calls: Iterable[Call], queues: Iterable[str]) -> dict[str, int]:
    """Each waiting caller's position in their queue (by Uniqueid): queue order is join
    order, counting callers already ringing an agent, as app_queue counts them; a caller
    call control put back in its queue is ahead of the others (its QUEUE_PRIO); a caller
    back at its place (or a callback's placeholder in it) keeps its first join's order."""
    wanted = set(queues)
    waiting = sorted(
        (c for c in calls if c.in_queue and c.queue in wanted and c.queued_at),
        key=lambda c: (not c.requeued, c.place_since() or 0.0, c.uniqueid),
    )
    out: dict[str, int] = {}
    seen: dict[str, int] = {}
    for call in waiting:
        seen[call.queue] = seen.get(call.queue, 0) + 1
        out[call.uniqueid] = seen[call.queue]
    return out


def due(
    calls: Iterable[Call],
    queues: Iterable[str],
    last_said: Mapping[str, float],
    now: float,
    every_s: float = ANNOUNCE_EVERY_S,
) -> list[Announcement]:
    """Callers to tell their position now: once on joining, then every `every_s`; never
    while an agent's phone rings for them (they are about to be answered), nor to a
    callback's placeholder (nobody listens on it)."""
    calls = list(calls)
    where = positions(calls, queues)
    out = []
    for call in calls:
        position = where.get(call.uniqueid)
        if position is None or call.state is not CallState.QUEUED or call.callback:
            continue
        said = last_said.get(call.uniqueid)
        if said is None or now - said >= every_s:
            out.append(Announcement(call.uniqueid, call.queue, position))
    return out


def offered(call: Call, now: float, offer_after_s: float) -> bool:
    """Whether a position announcement to `call` offers the callback key: a caller (not a
    placeholder) with a number that can be dialled back, waiting past the threshold."""
    since = call.place_since()
    waited = since is not None and now - since >= offer_after_s
    return waited and not call.callback and dialable(call.caller_number)
