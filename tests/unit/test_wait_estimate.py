"""The estimated wait from a queue's recent answers (pure)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from telephony.wait_estimate import Answer, answer_gaps, estimate_wait_s

NOW = 10_000.0


def backlog(gaps: Sequence[float], end: float = NOW - 1) -> list[Answer]:
    """Answers `gaps` apart ending at `end`, every caller queued long before its answer."""
    at = end - sum(gaps)
    out = [Answer(at - 1000, at)]
    for gap in gaps:
        at += gap
        out.append(Answer(at - 1000, at))
    return out


def test_no_history_says_nothing() -> None:
    assert estimate_wait_s([], 3, NOW, NOW - 10) is None
    assert estimate_wait_s(backlog([60, 60]), 3, NOW, NOW - 10) is None  # two gaps: too few


def test_one_agent_k_callers_wait_k_handle_times() -> None:
    # One agent answering every 4 minutes: the third in line waits three of them.
    assert estimate_wait_s(backlog([240, 240, 240, 240]), 3, NOW, NOW - 1) == 720


def test_many_agents_answer_more_often() -> None:
    # Six agents with the same 4-minute calls answer every 40 s.
    assert estimate_wait_s(backlog([40] * 12), 3, NOW, NOW - 1) == 120


def test_a_caller_at_position_1_waits_one_gap() -> None:
    assert estimate_wait_s(backlog([30, 30, 30]), 1, NOW, NOW - 1) == 30


def test_gaps_with_nobody_waiting_measure_arrivals_not_agents() -> None:
    # Quiet hour: a caller every 10 minutes, each answered 5 s after joining.
    quiet = [Answer(at - 5, at) for at in (NOW - 3600, NOW - 3000, NOW - 2400, NOW - 1800)]
    assert answer_gaps(quiet, NOW, window_s=7200) == []
    assert estimate_wait_s(quiet, 2, NOW, NOW - 1) is None


def test_an_outlier_gap_is_capped() -> None:
    # Sixteen 30 s gaps and one of almost 7 minutes (a break): capped at five medians.
    answers = backlog([30] * 8 + [400] + [30] * 8)
    mean = (16 * 30 + 5 * 30) / 17
    assert estimate_wait_s(answers, 2, NOW, NOW - 1) == pytest.approx(2 * mean)


def test_old_answers_are_forgotten() -> None:
    assert estimate_wait_s(backlog([30, 30, 30], end=NOW - 1000), 2, NOW, None) is None


def test_agents_who_stop_answering_make_the_promise_grow() -> None:
    # Answers every 30 s until 5 minutes ago; a caller has waited since: 300 s a place.
    answers = backlog([30, 30, 30, 30], end=NOW - 300)
    assert estimate_wait_s(answers, 2, NOW, NOW - 400) == 600
    # Nobody waiting for longer than the mean gap: the mean stands.
    assert estimate_wait_s(answers, 2, NOW, NOW - 10) == 60


def test_a_position_below_1_is_refused() -> None:
    with pytest.raises(ValueError, match="position"):
        estimate_wait_s([], 0, NOW, None)
