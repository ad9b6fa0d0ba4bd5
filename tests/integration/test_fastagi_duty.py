"""The 24/7 flows served over a real socket to a scripted Asterisk: the welcome flow's
after-hours hook, and the flow of a caller nobody can answer (callback key or message)."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from ivr import FastAgiServer, WelcomeFlow
from ivr.nobody import MIN_MESSAGE_BYTES, Message, NobodyFlow
from ivr.server import Flow
from tests.integration.test_fastagi_welcome import SOUNDS, Script, key, variables
from tests.support.fake_asterisk import (
    FakeAsterisk,
    asterisk_answer,
    asterisk_parse_args,
    header_block,
)

NOBODY = f'STREAM FILE "{SOUNDS}/hotline-nobody" "1"'
AFTER_HOURS = f'STREAM FILE "{SOUNDS}/hotline-after-hours" ""'
HANGUP = "200 result=-1 (hangup) endpos=0"


async def converse(flow: Flow, answer: Callable[[str], str | None], **headers: str) -> list[str]:
    async with FastAgiServer("127.0.0.1", 0, {"f": flow}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block(agi_network_script="f", **headers))
        async with asyncio.timeout(3):
            return await peer.converse(answer)


def hours(answer: bool) -> Callable[[], Awaitable[bool]]:
    async def in_hours() -> bool:
        return answer

    return in_hours


async def test_outside_hours_the_duty_queue_whatever_the_key_and_the_caller_is_told() -> None:
    flow = WelcomeFlow(SOUNDS, queues={"complaint": "complaint"}, in_hours=hours(False))
    commands = await converse(flow, Script(key("2"), None))
    assert variables(commands) == {
        "HOTLINE_IVR_CHOICE": "2", "HOTLINE_IVR_LABEL": "complaint",  # the choice kept
        "HOTLINE_QUEUE": "hotline-duty",
    }  # fmt: skip
    assert commands[-1] == AFTER_HOURS  # said once the variables are set


async def test_in_hours_nothing_changes() -> None:
    flow = WelcomeFlow(SOUNDS, queues={"complaint": "complaint"}, in_hours=hours(True))
    commands = await converse(flow, Script(key("2")))
    assert variables(commands)["HOTLINE_QUEUE"] == "complaint" and AFTER_HOURS not in commands


class Asterisk:
    """Replies as Asterisk would; RECORD FILE writes `audio_bytes` of WAV to its path (0:
    none), then answers `record_reply`; the nobody prompt is interrupted by `key`."""

    def __init__(self, key_pressed: str | None, audio_bytes: int, record_reply: str) -> None:
        self.key, self.audio_bytes, self.record_reply = key_pressed, audio_bytes, record_reply

    def __call__(self, command: str) -> str | None:
        if command.startswith("STREAM FILE") and "hotline-nobody" in command:
            return key(self.key) if self.key else "200 result=0 endpos=8000"
        if command.startswith("RECORD FILE"):
            path = Path(asterisk_parse_args(command)[2] + ".wav")
            if self.audio_bytes:
                path.write_bytes(b"\0" * self.audio_bytes)
            return self.record_reply
        return asterisk_answer(command)


class Taken:
    def __init__(self, stored: bool = True) -> None:
        self.messages: list[Message] = []
        self.stored = stored

    async def __call__(self, message: Message) -> bool:
        self.messages.append(message)
        return self.stored


def nobody(tmp_path: Path, take: Taken) -> NobodyFlow:
    return NobodyFlow(SOUNDS, tmp_path, take, max_s=60, silence_s=3)


CALLER = {"agi_uniqueid": "1700000000.42", "agi_callerid": "13800138000"}


async def test_the_callback_key_is_a_callback_request(tmp_path: Path) -> None:
    take = Taken()
    commands = await converse(nobody(tmp_path, take), Asterisk("1", 0, ""), **CALLER)
    assert take.messages == [Message("13800138000", "张三", "1700000000.42")]
    assert variables(commands)["HOTLINE_NOBODY"] == "callback"
    assert commands[-1] == f'STREAM FILE "{SOUNDS}/hotline-callback-taken" ""'
    assert not any(c.startswith("RECORD FILE") for c in commands)


async def test_a_message_is_recorded_bounded_and_taken(tmp_path: Path) -> None:
    take = Taken()
    asterisk = Asterisk(None, MIN_MESSAGE_BYTES, "200 result=0 endpos=16000")
    commands = await converse(nobody(tmp_path, take), asterisk, **CALLER)
    (record,) = [c for c in commands if c.startswith("RECORD FILE")]
    assert record.endswith('wav "#" 60000 BEEP s=3')
    (message,) = take.messages
    assert message.recording.endswith("/1700000000.42.wav")
    assert (tmp_path / message.recording).is_file()
    assert variables(commands)["HOTLINE_NOBODY"] == "message"
    assert commands[-1] == f'STREAM FILE "{SOUNDS}/hotline-message-taken" ""'


async def test_a_caller_hanging_up_during_the_message_still_leaves_it(tmp_path: Path) -> None:
    take = Taken()
    await converse(nobody(tmp_path, take), Asterisk(None, MIN_MESSAGE_BYTES, HANGUP), **CALLER)
    assert [m.recording != "" for m in take.messages] == [True]


@pytest.mark.parametrize("audio_bytes", [0, 44, MIN_MESSAGE_BYTES - 1])
async def test_no_message_or_too_short_is_not_an_order(tmp_path: Path, audio_bytes: int) -> None:
    take = Taken()
    asterisk = Asterisk(None, audio_bytes, "200 result=0 endpos=0")
    commands = await converse(nobody(tmp_path, take), asterisk, **CALLER)
    assert take.messages == [] and variables(commands)["HOTLINE_NOBODY"] == "nothing"


async def test_a_message_not_stored_is_not_said_taken(tmp_path: Path) -> None:
    take = Taken(stored=False)
    asterisk = Asterisk(None, MIN_MESSAGE_BYTES, "200 result=0 endpos=16000")
    commands = await converse(nobody(tmp_path, take), asterisk, **CALLER)
    assert len(take.messages) == 1 and variables(commands)["HOTLINE_NOBODY"] == "nothing"
    assert not any("message-taken" in c for c in commands)


async def test_a_uniqueid_that_is_no_asterisk_one_records_nothing(tmp_path: Path) -> None:
    take = Taken()
    headers = {**CALLER, "agi_uniqueid": "../../etc/passwd"}
    commands = await converse(nobody(tmp_path, take), Asterisk(None, 0, ""), **headers)
    assert take.messages == [] and not any(c.startswith("RECORD FILE") for c in commands)
