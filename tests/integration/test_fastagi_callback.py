"""The callback key's flow served over a real socket to a scripted Asterisk: the call is
marked as a callback before the request is stored (a hang-up meanwhile is no abandon), named
by the request once stored, and unmarked when the request is refused."""

from pathlib import Path

from ivr.callback import CallbackAsk, CallbackFlow
from tests.integration.test_fastagi_duty import converse
from tests.integration.test_fastagi_welcome import SOUNDS, variables
from tests.support.fake_asterisk import asterisk_answer

CALLER = {"agi_uniqueid": "1700000000.42", "agi_callerid": "13800138000",
          "agi_arg_1": "hotline", "agi_arg_2": "3", "agi_arg_3": "1700000000"}  # fmt: skip


class Asterisk:
    def __init__(self) -> None:
        self.commands: list[str] = []

    def __call__(self, command: str) -> str | None:
        self.commands.append(command)
        return asterisk_answer(command)


class Take:
    def __init__(self, asterisk: Asterisk, request: int | None) -> None:
        self.asterisk, self.request = asterisk, request
        self.marked_before: dict[str, str] = {}

    async def __call__(self, ask: CallbackAsk) -> int | None:
        self.marked_before = variables(self.asterisk.commands)
        return self.request


async def test_the_call_is_marked_before_the_request_is_stored(tmp_path: Path) -> None:
    asterisk = Asterisk()
    take = Take(asterisk, 7)
    commands = await converse(CallbackFlow(SOUNDS, take), asterisk, **CALLER)
    assert take.marked_before.get("HOTLINE_CALLBACK_REQUESTED") == "pending"
    assert variables(commands)["HOTLINE_CALLBACK_REQUESTED"] == "7"


async def test_a_request_not_stored_unmarks_the_call(tmp_path: Path) -> None:
    asterisk = Asterisk()
    commands = await converse(CallbackFlow(SOUNDS, Take(asterisk, None)), asterisk, **CALLER)
    assert variables(commands)["HOTLINE_CALLBACK_REQUESTED"] == ""  # back at its place
    assert commands[-1].startswith("STREAM FILE") and "refused" in commands[-1]
