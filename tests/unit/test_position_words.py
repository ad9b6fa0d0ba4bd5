"""What a waiting caller hears as their position, in Mandarin (pure rules)."""

from __future__ import annotations

import pytest

from telephony.position_words import POSITION_PROMPTS, position_words


def sentence(position: int) -> str:
    return "".join(POSITION_PROMPTS[name] for name in position_words(position))


@pytest.mark.parametrize(
    ("position", "said"),
    [
        (1, "您是下一位，请稍候。"),
        (2, "您前面还有一位来电，请耐心等待。"),  # position 2: one caller ahead
        (3, "您前面还有两位来电，请耐心等待。"),
        (10, "您前面还有九位来电，请耐心等待。"),
        (11, "您前面还有十位来电，请耐心等待。"),
        (13, "您前面还有十二位来电，请耐心等待。"),
        (21, "您前面还有二十位来电，请耐心等待。"),
        (36, "您前面还有三十五位来电，请耐心等待。"),
        (101, "您前面还有一百位来电，请耐心等待。"),
        (106, "您前面还有一百零五位来电，请耐心等待。"),
        (111, "您前面还有一百一十位来电，请耐心等待。"),
        (118, "您前面还有一百一十七位来电，请耐心等待。"),
        (201, "您前面还有两百位来电，请耐心等待。"),
        (223, "您前面还有两百二十二位来电，请耐心等待。"),
        (999, "您前面还有九百九十八位来电，请耐心等待。"),
        (1000, "您前面还有很多位来电，请耐心等待。"),
        (25000, "您前面还有很多位来电，请耐心等待。"),
    ],
)
def test_the_callers_ahead_said_as_in_mandarin(position: int, said: str) -> None:
    assert sentence(position) == said


def test_a_handful_of_pieces_says_every_position() -> None:
    used = {name for p in range(1, 1200) for name in position_words(p)}
    assert used == set(POSITION_PROMPTS)
    assert len(POSITION_PROMPTS) == 17  # 4 phrases, 零 to 九, 两, 十, 百


def test_no_position_below_one() -> None:
    with pytest.raises(ValueError, match="queue position 0"):
        position_words(0)
