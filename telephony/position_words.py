"""What a waiting caller hears as their queue position, in Mandarin: pure rules.

A sentence is a few short prompts played one after the other (您前面还有, the number, then
位来电 and a plea for patience), the number built from thirteen single syllables
(零 一 二 两 … 十 百) the way it is said: 十一 not 一十一, 一百一十 not 一百十,
一百零五, 两位 and 两百 but 二十二.
So no number needs a prompt of its own. Positions of up to three digits are said exactly (the
dialplan has one extension each); from position 1000 the caller hears 很多位.
"""

from __future__ import annotations

from collections.abc import Mapping

NEXT = "hotline-pos-next"
AHEAD = "hotline-pos-ahead"
WAIT = "hotline-pos-wait"
MANY = "hotline-pos-many"
LIANG = "hotline-num-liang"  # 两: two of something, and two hundred
TEN = "hotline-num-10"
HUNDRED = "hotline-num-100"
LAST_SAID_POSITION = 999  # the last position whose callers ahead are said as a number

_DIGITS = "零一二三四五六七八九"


def _digit(d: int) -> str:
    return f"hotline-num-{d}"


POSITION_PROMPTS: Mapping[str, str] = {
    NEXT: "您是下一位，请稍候。",
    AHEAD: "您前面还有",
    WAIT: "位来电，请耐心等待。",
    MANY: "很多",
    LIANG: "两",
    TEN: "十",
    HUNDRED: "百",
    **{_digit(d): _DIGITS[d] for d in range(10)},
}


def number_words(n: int) -> tuple[str, ...]:
    """Prompts that say `n` (1..999) as a count of callers."""
    if not 1 <= n <= 999:
        raise ValueError(f"{n} is not a count from 1 to 999")
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    out: list[str] = []
    if hundreds:
        out += [LIANG if hundreds == 2 else _digit(hundreds), HUNDRED]
        if rest and tens == 0:
            out.append(_digit(0))
    if tens:
        if tens > 1 or hundreds:  # 十五, but 一百一十五
            out.append(_digit(tens))
        out.append(TEN)
    if units:
        out.append(LIANG if n == 2 else _digit(units))
    return tuple(out)


def position_words(position: int) -> tuple[str, ...]:
    """The prompts that tell a caller at `position` (1 = next to be answered) where they are:
    the number said is the callers ahead of them, one fewer than the position."""
    if position < 1:
        raise ValueError(f"queue position {position} is not 1 or more")
    if position == 1:
        return (NEXT,)
    number = number_words(position - 1) if position <= LAST_SAID_POSITION else (MANY,)
    return (AHEAD, *number, WAIT)
