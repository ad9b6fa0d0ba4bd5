"""A waiting caller's estimated wait, from its queue's recent answer times: pure.

Method (throughput): a caller at position k is answered at the k-th answer of its queue
from now, so it waits about k times the time between two answers. That time is measured
on the queue's recent answers, counting only the gaps after which the caller answered had
already been waiting when the gap began: those are the gaps set by the agents (n agents
serving answer n times as often, so their number is in the gaps already, and so are talk,
wrap-up and ringing), while a gap with nobody waiting measures the callers' arrivals. The
mean of the gaps, not their median: they are skewed, and k gaps add up to k means. One
outlier (a break, a re-sync) is capped at `OUTLIER_CAP` medians. The gap still open (a
caller waiting, no answer since) counts as soon as it is longer than that mean: when the
agents stop answering, the promise grows rather than staying at what they did before.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

WINDOW_S = 900.0  # answers older than this say little about the agents serving now
KEEP_ANSWERS = 21  # per queue: twenty gaps at most
MIN_GAPS = 3  # fewer measured gaps: no estimate is said
OUTLIER_CAP = 5.0  # a gap counts at most this many median gaps


@dataclass(frozen=True, slots=True)
class Answer:
    queued_at: float
    answered_at: float


def answer_gaps(answers: Sequence[Answer], now: float, window_s: float = WINDOW_S) -> list[float]:
    """The gaps between successive answers within the window during which the next caller
    answered was already waiting (so the agents, not the arrivals, set the gap)."""
    recent = sorted((a for a in answers if now - a.answered_at <= window_s),
                    key=lambda a: a.answered_at)  # fmt: skip
    return [
        b.answered_at - a.answered_at
        for a, b in itertools.pairwise(recent)
        if b.queued_at <= a.answered_at
    ]


def seconds_per_place(
    answers: Sequence[Answer], now: float, waiting_since: float | None
) -> float | None:
    """The expected time between two answers now, or None without enough history.
    `waiting_since`: when the queue's longest-waiting caller joined (None: nobody waits)."""
    gaps = answer_gaps(answers, now)
    if len(gaps) < MIN_GAPS:
        return None
    cap = OUTLIER_CAP * statistics.median(gaps)
    mean = statistics.fmean(min(g, cap) for g in gaps)
    if waiting_since is None:
        return mean
    last = max(a.answered_at for a in answers)
    return max(mean, now - max(last, waiting_since))


def estimate_wait_s(
    answers: Sequence[Answer], position: int, now: float, waiting_since: float | None
) -> float | None:
    """Seconds a caller at `position` (1 = next) can expect to wait still, None if unknown."""
    if position < 1:
        raise ValueError(f"queue position {position} is not 1 or more")
    per_place = seconds_per_place(answers, now, waiting_since)
    return None if per_place is None else position * per_place
