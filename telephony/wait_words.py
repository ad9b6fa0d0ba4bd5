"""What a waiting caller hears as their estimated wait, in Mandarin: pure rules.

Said after the position (预计等待约三分钟 / 不到一分钟 / 超过一小时), rounded up as a
centre does, so the caller is never promised less than the estimate: whole minutes up to
ten, then fives up to an hour. Each sentence said is one dialplan extension (its key), the
number from the position's own syllables (`position_words.number_words`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from telephony.position_words import number_words

ABOUT = "hotline-wait-about"
MINUTES = "hotline-wait-minutes"
UNDER = "hotline-wait-under"
OVER = "hotline-wait-over"
EXACT_UP_TO_MIN = 10  # minutes said exactly up to this; fives above it
LONGEST_SAID_MIN = 60  # beyond: 超过一小时
UNDER_KEY = "under"
OVER_KEY = "over"

WAIT_PROMPTS: Mapping[str, str] = {
    ABOUT: "预计等待约",
    MINUTES: "分钟。",
    UNDER: "预计等待不到一分钟。",
    OVER: "预计等待超过一小时。",
}


def said_minutes(wait_s: float) -> int | None:
    """The minutes said for an estimated wait (0: under a minute; None: over an hour)."""
    if wait_s < 60:
        return 0
    minutes = math.ceil(wait_s / 60)
    if minutes > EXACT_UP_TO_MIN:
        minutes = 5 * math.ceil(minutes / 5)
    return minutes if minutes <= LONGEST_SAID_MIN else None


def wait_key(wait_s: float) -> str:
    """The extension of the sentence that says `wait_s` seconds."""
    minutes = said_minutes(wait_s)
    return OVER_KEY if minutes is None else UNDER_KEY if minutes == 0 else f"m{minutes}"


def wait_sentences() -> dict[str, tuple[str, ...]]:
    """Every sentence a caller may hear, by key: the prompts it plays."""
    minutes = [*range(1, EXACT_UP_TO_MIN + 1), *range(15, LONGEST_SAID_MIN + 1, 5)]
    return {
        UNDER_KEY: (UNDER,),
        **{f"m{m}": (ABOUT, *number_words(m), MINUTES) for m in minutes},
        OVER_KEY: (OVER,),
    }
