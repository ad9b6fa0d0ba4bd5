"""The welcome flow served over a real socket to a scripted Asterisk."""

import asyncio
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from ivr import FastAgiServer, WelcomeFlow
from ivr.welcome import Refuse
from tests.support.fake_asterisk import (
    FakeAsterisk,
    asterisk_answer,
    asterisk_parse_args,
    header_block,
    wait_until,
)

SOUNDS = Path("/var/lib/hotline/sounds")
WELCOME = f'STREAM FILE "{SOUNDS}/hotline-welcome" "#*0123456789"'
INVALID = f'STREAM FILE "{SOUNDS}/hotline-invalid" ""'
MENU = f'STREAM FILE "{SOUNDS}/hotline-menu" "#*0123456789"'
NUISANCE = f'STREAM FILE "{SOUNDS}/hotline-nuisance" ""'
WAIT = "WAIT FOR DIGIT 4000"
CLOSE = "<close the socket>"


def key(digit: str) -> str:
    """Asterisk's reply to a playback or wait interrupted by ``digit``."""
    return f"200 result={ord(digit)} endpos=1234"


class Script:
    """Replies for STREAM FILE / WAIT FOR DIGIT in order; other commands succeed.

    ``None`` is "no key pressed"; ``CLOSE`` drops the connection as a hang-up can.
    """

    def __init__(self, *keys: str | None) -> None:
        self._replies: Iterator[str | None] = iter(
            asterisk_answer(WAIT) if k is None else k for k in keys
        )

    def __call__(self, command: str) -> str | None:
        if command.startswith(("STREAM FILE", "WAIT FOR DIGIT")):
            reply = next(self._replies)
            return None if reply == CLOSE else reply
        return asterisk_answer(command)


async def run_call(
    script: Script,
    queues: Mapping[str, str] | None = None,
    refuse: Refuse = lambda caller_id, uniqueid: False,
    emergency_line: str | None = None,
    **headers: str,
) -> list[str]:
    flow = WelcomeFlow(
        SOUNDS, queues=queues, choice_timeout_ms=4000, emergency_line=emergency_line,
        refuse=refuse,
    )  # fmt: skip
    async with FastAgiServer("127.0.0.1", 0, {"ivr": flow}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block(**headers))
        async with asyncio.timeout(3):
            return await peer.converse(script)


def variables(commands: list[str]) -> dict[str, str]:
    """The channel variables set, as Asterisk would parse the commands."""
    found = {}
    for command in commands:
        args = asterisk_parse_args(command)
        if args[:2] == ["SET", "VARIABLE"]:
            found[args[2]] = args[3]
    return found


def chose(digit: str, label: str, queue: str = "hotline") -> dict[str, str]:
    return {"HOTLINE_IVR_CHOICE": digit, "HOTLINE_IVR_LABEL": label, "HOTLINE_QUEUE": queue}


async def test_key_pressed_during_greeting() -> None:
    commands = await run_call(Script(key("1")))
    assert commands[:2] == ["ANSWER", WELCOME]
    assert commands[2:5] == [
        'SET VARIABLE HOTLINE_IVR_CHOICE "1"',
        'SET VARIABLE HOTLINE_IVR_LABEL "consult"',
        'SET VARIABLE HOTLINE_QUEUE "hotline"',
    ]
    assert commands[5] == 'VERBOSE "hotline IVR: chose consult, queue hotline" 1'
    assert len(commands) == 6


async def test_key_pressed_after_greeting() -> None:
    commands = await run_call(Script(None, key("3")))
    assert commands[1:3] == [WELCOME, WAIT]
    assert variables(commands) == chose("3", "help")


async def test_no_key_at_all_goes_to_operator_at_once_with_empty_choice() -> None:
    commands = await run_call(Script(None, None))
    assert commands[1:3] == [WELCOME, WAIT]
    assert variables(commands) == chose("", "operator")


async def test_zero_is_operator() -> None:
    assert variables(await run_call(Script(key("0")))) == chose("0", "operator")


async def test_invalid_key_replays_the_menu_alone() -> None:
    commands = await run_call(Script(key("5"), None, None, key("2")))
    assert commands[1:5] == [WELCOME, INVALID, MENU, WAIT]
    assert variables(commands) == chose("2", "complaint")


async def test_a_timeout_after_an_invalid_key_replays_the_menu_without_the_invalid_prompt() -> None:
    commands = await run_call(Script(key("5"), None, None, None, key("0")))
    assert commands[1:6] == [WELCOME, INVALID, MENU, WAIT, MENU]
    assert variables(commands) == chose("0", "operator")


@pytest.mark.parametrize("then", ["*", "9"])
async def test_invalid_keys_replay_the_menu_twice_then_go_to_operator(then: str) -> None:
    """Without an emergency line 9 is a key like any other the menu lacks."""
    commands = await run_call(Script(key("#"), None, key("8"), None, key(then)))
    assert commands[1:6] == [WELCOME, INVALID, MENU, INVALID, MENU]
    assert commands.count(MENU) == 2
    assert variables(commands) == chose("", "operator")


async def test_key_9_sends_the_caller_to_the_emergency_line_and_no_queue() -> None:
    commands = await run_call(Script(key("9")), emergency_line="110")
    assert commands[1] == WELCOME
    assert variables(commands) == {
        "HOTLINE_IVR_CHOICE": "9", "HOTLINE_IVR_LABEL": "emergency", "HOTLINE_EMERGENCY": "110",
    }  # fmt: skip
    assert commands[-1] == 'VERBOSE "hotline IVR: chose emergency, emergency line 110" 1'


async def test_queue_per_choice_from_the_constructor() -> None:
    queues = {"complaint": "complaints", "operator": "operators"}
    assert variables(await run_call(Script(key("2")), queues)) == chose(
        "2", "complaint", "complaints"
    )
    assert variables(await run_call(Script(None, None), queues)) == chose(
        "", "operator", "operators"
    )
    assert variables(await run_call(Script(key("1")), queues)) == chose("1", "consult")


def test_unsafe_queue_name_is_refused_when_the_flow_is_built() -> None:
    with pytest.raises(ValueError, match="dialplan token"):
        WelcomeFlow(SOUNDS, queues={"help": "help,t"})


async def test_missing_prompt_does_not_lose_the_call(caplog: pytest.LogCaptureFixture) -> None:
    """STREAM FILE answers ``result=-1`` for a missing file: go on, the caller can still press."""
    commands = await run_call(Script("200 result=-1 endpos=0", key("1")))
    assert commands[1:3] == [WELCOME, WAIT]
    assert variables(commands) == chose("1", "consult")
    assert "prompt /var/lib/hotline/sounds/hotline-welcome not played" in caplog.text


async def test_a_greeting_cut_short_is_not_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """``result=-1 endpos=8160``: played a while, then the caller went: no warning for it."""
    caplog.set_level("INFO")
    await run_call(Script("200 result=-1 endpos=8160", key("1")))
    assert "prompt /var/lib/hotline/sounds/hotline-welcome interrupted" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize("hangup", ["HANGUP", CLOSE])
async def test_caller_hangs_up_during_greeting(
    caplog: pytest.LogCaptureFixture, hangup: str
) -> None:
    caplog.set_level(logging.INFO, logger="ivr")

    def hung_up() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "caller hung up" in r.message]

    async with FastAgiServer("127.0.0.1", 0, {"ivr": WelcomeFlow(SOUNDS)}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block(agi_uniqueid="1700000000.7"))
        async with asyncio.timeout(3):
            commands = await peer.converse(Script(hangup))
            # the server may see the closed socket a moment after the peer closed it
            await wait_until(lambda: bool(hung_up()))
    assert commands == ["ANSWER", WELCOME]
    [record] = hung_up()
    assert "1700000000.7" in record.message
    assert all(r.exc_info is None for r in caplog.records)


async def test_hostile_caller_id_never_reaches_asterisk_or_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Caller ID is outside input and personal data: quotes, backslashes, semicolons, a CR
    and 5,000 characters must neither reach a command nor a log line (VERBOSE included)."""
    caplog.set_level(logging.DEBUG)
    number = '"; EXEC Dial(PJSIP/evil)\r;\\' + "9" * 5000
    name = '张三" SET VARIABLE HOTLINE_QUEUE vip \\'
    commands = await run_call(Script(key("1")), agi_callerid=number, agi_calleridname=name)
    [verbose] = [c for c in commands if c.startswith("VERBOSE")]
    assert asterisk_parse_args(verbose) == [
        "VERBOSE",
        "hotline IVR: chose consult, queue hotline",
        "1",
    ]
    assert variables(commands) == chose("1", "consult")
    assert sum(c.startswith("SET VARIABLE") for c in commands) == 3
    assert "IVR" in caplog.text  # the choice is logged, by uniqueid
    assert "EXEC" not in caplog.text and "张三" not in caplog.text and "9999" not in caplog.text


async def test_an_ivr_call_leaves_no_caller_number_in_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    commands = await run_call(
        Script(key("2")), agi_callerid="13812345678", agi_calleridname="李四", agi_uniqueid="17.3"
    )
    assert "13812345678" not in " ".join(commands)
    assert "'17.3'" in caplog.text
    assert "13812345678" not in caplog.text and "李四" not in caplog.text


async def test_a_refused_caller_hears_why_and_is_never_given_a_queue() -> None:
    asked: list[tuple[str, str]] = []

    def refuse(caller_id: str, uniqueid: str) -> bool:
        asked.append((caller_id, uniqueid))
        return caller_id == "13800138000"

    commands = await run_call(
        Script(None), refuse=refuse, agi_callerid="13800138000", agi_uniqueid="17.5"
    )
    assert commands == ["ANSWER", 'SET VARIABLE HOTLINE_REFUSED "nuisance"', NUISANCE]
    assert asked == [("13800138000", "17.5")]
    # a caller the screen lets through gets the menu, no refusal
    passed = await run_call(Script(key("1")), refuse=refuse, agi_callerid="13800138001")
    assert passed[:2] == ["ANSWER", WELCOME] and variables(passed) == chose("1", "consult")


async def test_a_refused_caller_hanging_up_during_the_message_stays_refused() -> None:
    commands = await run_call(Script(CLOSE), refuse=lambda number, call: True)
    assert commands == ["ANSWER", 'SET VARIABLE HOTLINE_REFUSED "nuisance"', NUISANCE]
