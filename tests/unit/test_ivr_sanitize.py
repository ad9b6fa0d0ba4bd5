"""Hostile values never leave their quoted argument on an AGI command line."""

import random

import pytest

from ivr.sanitize import (
    MAX_VALUE_CHARS,
    check_dialplan_token,
    check_variable_name,
    clean_dtmf,
    clean_text,
    quote_arg,
    quote_trusted,
)
from tests.support.fake_asterisk import asterisk_parse_args


def set_variable_line(value: str) -> str:
    return f"SET VARIABLE CALLER {quote_arg(value)}"


HOSTILE = {
    "double quote": 'Zhang" San',
    "quote then injected command": '"\nEXEC Dial PJSIP/evil',
    "line feed": "a\nSET VARIABLE HOTLINE_QUEUE vip",
    "carriage return": "a\rb",
    "crlf": "a\r\nb",
    "nul": "a\0b",
    "semicolon": "a;b ; comment",
    "backslash": "C:\\path\\",
    "trailing backslash": "abc\\",
    "escaped quote": '\\"',
    "dialplan expression": "${SHELL(rm -rf /)},Queue(vip)|x",
    "chinese": "张三 李四",
    "tab": "a\tb",
    "line separator": "a\u2028b\u2029c\x85d",
    "lone surrogate": "a\udcffb",
    "escape sequence": "\x1b[31mred",
    "empty": "",
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_value_is_exactly_one_argument(value: str) -> None:
    line = set_variable_line(value)
    assert "\n" not in line and "\r" not in line and "\0" not in line
    line.encode("utf-8")  # never raises: no lone surrogates left
    assert asterisk_parse_args(line) == ["SET", "VARIABLE", "CALLER", clean_text(value)]


def test_five_thousand_characters_are_capped() -> None:
    value = '张"\\;' * 1250
    quoted = quote_arg(value)
    args = asterisk_parse_args(f"VERBOSE {quoted} 1")
    assert args == ["VERBOSE", value[:MAX_VALUE_CHARS], "1"]
    assert len(quoted.encode()) < 2048  # Asterisk's AGI command buffer


def test_cap_falling_on_a_backslash_leaves_no_dangling_escape() -> None:
    value = "a" * (MAX_VALUE_CHARS - 1) + "\\" + '"; EXEC Hangup'
    args = asterisk_parse_args(f"VERBOSE {quote_arg(value)} 1")
    assert args == ["VERBOSE", "a" * (MAX_VALUE_CHARS - 1) + "\\", "1"]


def test_random_hostile_strings_round_trip() -> None:
    rng = random.Random(12345)
    alphabet = " \"\\\n\r\0\t;,|$(){}[]'`张三\u2028\x85abc"
    for _ in range(500):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        line = set_variable_line(value)
        assert asterisk_parse_args(line)[3:] == [clean_text(value)], value


def test_clean_text_keeps_chinese_and_punctuation() -> None:
    text = "张三（市民）；“你好”"
    assert clean_text(text) == text


def test_clean_text_strips_controls_and_keeps_words_apart() -> None:
    assert clean_text("a\tb\r\nc\0d\x7f") == "a bcd"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "1"),
        ("0", "0"),
        ("*", "*"),
        ("#", "#"),
        ("123#", "123#"),
        ("", ""),
        (None, ""),
        ("A", ""),  # DTMF A-D exist but are not ours
        ("1a", ""),
        ("１", ""),
        ("1\n", ""),
        ("-1", ""),
        (" 1", ""),
    ],
)
def test_clean_dtmf_accepts_only_keypad_keys(raw: str | None, expected: str) -> None:
    assert clean_dtmf(raw) == expected


@pytest.mark.parametrize("name", ["HOTLINE_IVR_CHOICE", "_INHERIT", "__X1"])
def test_plain_variable_names_pass(name: str) -> None:
    assert check_variable_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "1X", "A B", "CDR(userfield)", "X\nY", "SHELL(id)", "A" * 81, "名字"]
)
def test_other_variable_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="variable name"):
        check_variable_name(name)


@pytest.mark.parametrize("token", ["hotline", "queue-110", "q_1.a"])
def test_dialplan_tokens(token: str) -> None:
    assert check_dialplan_token(token) == token


@pytest.mark.parametrize("token", ["", "a,b", "a|b", "${X}", "a b", "热线", "q\n", "x" * 81])
def test_unsafe_dialplan_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError, match="dialplan token"):
        check_dialplan_token(token)


def test_quote_trusted_quotes_clean_paths() -> None:
    assert quote_trusted("/var/sounds/hotline welcome") == '"/var/sounds/hotline welcome"'


@pytest.mark.parametrize("path", ["/x\n", "/x\0", "/" + "x" * MAX_VALUE_CHARS])
def test_quote_trusted_refuses_what_it_would_have_to_change(path: str) -> None:
    with pytest.raises(ValueError):
        quote_trusted(path)
