"""What a waiting caller hears as their estimated wait, in Mandarin (pure rules)."""

from __future__ import annotations

import pytest

from telephony.position_words import POSITION_PROMPTS
from telephony.wait_words import WAIT_PROMPTS, said_minutes, wait_key, wait_sentences


def said(wait_s: float) -> str:
    prompts = {**POSITION_PROMPTS, **WAIT_PROMPTS}
    return "".join(prompts[name] for name in wait_sentences()[wait_key(wait_s)])


@pytest.mark.parametrize(
    ("wait_s", "sentence"),
    [
        (0, "预计等待不到一分钟。"),
        (59, "预计等待不到一分钟。"),
        (60, "预计等待约一分钟。"),
        (61, "预计等待约两分钟。"),  # rounded up: never less than the estimate
        (170, "预计等待约三分钟。"),
        (600, "预计等待约十分钟。"),
        (601, "预计等待约十五分钟。"),  # fives above ten minutes
        (1260, "预计等待约二十五分钟。"),
        (3600, "预计等待约六十分钟。"),
        (3601, "预计等待超过一小时。"),
    ],
)
def test_the_wait_said(wait_s: float, sentence: str) -> None:
    assert said(wait_s) == sentence


def test_every_said_minute_has_a_sentence() -> None:
    keys = set(wait_sentences())
    assert {wait_key(s) for s in range(0, 4000, 7)} <= keys
    assert [said_minutes(s) for s in (30, 90, 660, 3660)] == [0, 2, 15, None]
