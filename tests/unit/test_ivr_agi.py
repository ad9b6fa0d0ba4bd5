"""AGI headers and replies become typed values or typed errors, never crashes."""

import pytest

from ivr.agi import (
    AgiCommandError,
    AgiHangup,
    AgiResult,
    digit_from_code,
    interpret_reply,
    parse_headers,
)


def test_headers_are_parsed_with_chinese_intact() -> None:
    block = "agi_network: yes\nagi_calleridname: 张三\nagi_arg_1: a: b\n".encode()
    assert parse_headers(block) == {
        "agi_network": "yes",
        "agi_calleridname": "张三",
        "agi_arg_1": "a: b",
    }


def test_bad_utf8_becomes_replacement_characters() -> None:
    headers = parse_headers(b"agi_calleridname: \xff\xfe\xe5\xbc\n")
    assert headers["agi_calleridname"] == "\ufffd\ufffd\ufffd"


def test_crlf_lines_and_lines_without_separator() -> None:
    assert parse_headers(b"agi_x: 1\r\ngarbage\nagi_y:2\n") == {"agi_x": "1"}


def test_unicode_line_separators_do_not_split_a_value() -> None:
    value = "张\u2028三\x85"
    assert parse_headers(f"agi_calleridname: {value}\n".encode()) == {"agi_calleridname": value}


@pytest.mark.parametrize(
    ("line", "result", "data"),
    [
        ("200 result=0", "0", ""),
        ("200 result=1", "1", ""),
        ("200 result=49 endpos=8000", "49", ""),
        ("200 result= (timeout)", "", ""),
        ("200 result=12 (timeout)", "12", "timeout"),
        ("200 result=", "", ""),
    ],
)
def test_success_replies(line: str, result: str, data: str) -> None:
    assert interpret_reply(line) == AgiResult(result=result, data=data, line=line)


def test_trying_means_wait_for_the_next_line() -> None:
    assert interpret_reply("100 result=0 Trying...") is None


@pytest.mark.parametrize(
    "line",
    [
        "HANGUP",
        "511 Command Not Permitted on a dead channel or intercept routine",
        "200 result=0 (hangup)",
    ],
)
def test_hangup_replies(line: str) -> None:
    with pytest.raises(AgiHangup):
        interpret_reply(line)


@pytest.mark.parametrize(
    "line",
    [
        "200 result=-1",
        "200 result=-1 endpos=0",
        "510 Invalid or unknown command",
        "520 Invalid command syntax.  Proper usage not available.",
        "520-Invalid command syntax.  Proper usage follows:",
        "999 what",
        "garbage",
        "",
    ],
)
def test_failed_or_unreadable_replies(line: str) -> None:
    with pytest.raises(AgiCommandError):
        interpret_reply(line)


@pytest.mark.parametrize(
    ("code", "digit"),
    [
        ("49", "1"),
        ("48", "0"),
        ("42", "*"),
        ("35", "#"),
        ("0", None),
        ("65", None),  # 'A'
        ("10", None),  # '\n'
        ("-1", None),
        ("", None),
        ("4900000000", None),
        ("٤٩", None),  # Arabic-Indic digits are not ASCII
    ],
)
def test_digit_from_code(code: str, digit: str | None) -> None:
    assert digit_from_code(code) == digit
