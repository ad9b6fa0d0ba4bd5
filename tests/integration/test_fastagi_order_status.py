"""The order-status flow behind key 8 of the welcome flow, over a real socket to a scripted
Asterisk: the hook, a unit whose prompt cannot be made, a hang-up while the order is read."""

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from ivr import FastAgiServer, WelcomeFlow
from ivr import order_status as flow_module
from ivr.order_status import OrderStatusFlow
from ivr.order_status_rules import OrderFacts, Stage
from ivr.prompts import PromptError
from tests.support.fake_asterisk import FakeAsterisk, asterisk_answer, header_block

OWNER = "13800138000"
ORDER = OrderFacts(OWNER, False, Stage.HANDLING, date(2026, 3, 2), "市城管局", date(2026, 3, 20))


class Lookup:
    """The CRM port: OWNER's one open order; every lookup remembered."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def national(self, number: str) -> str | None:
        return number.removeprefix("0086") or None

    async def open_order_of(self, caller_id: str, uniqueid: str) -> OrderFacts | None:
        self.asked.append(f"own {caller_id}")
        return ORDER if caller_id == OWNER else None

    async def order(self, digits: str, uniqueid: str) -> OrderFacts | None:
        self.asked.append(f"order {digits}")
        return ORDER if digits == "20260302000001" else None


def keys(*replies: str) -> Callable[[str], str | None]:
    """Asterisk's replies to the playbacks, waits and GET DATAs in turn; "" is no key,
    "hangup" the caller gone: the connection closes."""
    pending = iter(replies)

    def answer(command: str) -> str | None:
        if not command.startswith(("STREAM FILE", "WAIT FOR DIGIT", "GET DATA")):
            return asterisk_answer(command)
        reply = next(pending, "")
        if reply == "hangup":
            return None
        if command.startswith("GET DATA"):
            return f"200 result={reply}" if reply else "200 result= (timeout)"
        if reply:
            return f"200 result={ord(reply)} endpos=100"
        return asterisk_answer(command)

    return answer


async def call(tmp_path: Path, answer: Callable[[str], str | None], caller: str) -> list[str]:
    order_status = OrderStatusFlow(tmp_path, Lookup())
    welcome = WelcomeFlow(tmp_path, choice_timeout_ms=4000, order_status=order_status)
    async with FastAgiServer("127.0.0.1", 0, {"ivr": welcome}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block(agi_callerid=caller))
        async with asyncio.timeout(10):
            return await peer.converse(answer)


def played(commands: list[str]) -> list[str]:
    return [c.split('"')[1].rsplit("/", 1)[1] for c in commands if c.startswith(("STREAM", "GET"))]


def unit_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> list[Path]:
        raise PromptError("espeak-ng is not installed")

    monkeypatch.setattr(flow_module, "build_prompts", fail)


async def test_key_8_reads_the_callers_order_then_goes_to_the_operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit's prompt cannot be made here: the order is read without it."""
    unit_fails(monkeypatch)
    commands = await call(tmp_path, keys("8", "1", "", "", "", "", "", ""), OWNER)
    assert played(commands) == [
        "hotline-welcome", "hotline-os-own", "hotline-os-handling", "hotline-os-due",
        "hotline-os-month-3", "hotline-os-day-20", "hotline-os-end",
    ]  # fmt: skip
    assert 'SET VARIABLE HOTLINE_ORDER_STATUS "read"' in commands
    assert commands[-4:-1] == [
        'SET VARIABLE HOTLINE_IVR_CHOICE "0"',
        'SET VARIABLE HOTLINE_IVR_LABEL "operator"',
        'SET VARIABLE HOTLINE_QUEUE "hotline"',
    ]


async def test_a_caller_who_hangs_up_while_hearing_the_order_was_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit_fails(monkeypatch)
    commands = await call(tmp_path, keys("8", "1", "hangup"), OWNER)
    assert commands[-1] == f'STREAM FILE "{tmp_path}/hotline-os-handling" "120"'
    assert 'SET VARIABLE HOTLINE_ORDER_STATUS "read"' in commands


async def test_without_the_flow_key_8_is_an_invalid_key(tmp_path: Path) -> None:
    welcome = WelcomeFlow(tmp_path, choice_timeout_ms=4000)
    async with FastAgiServer("127.0.0.1", 0, {"ivr": welcome}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block())
        async with asyncio.timeout(10):
            commands = await peer.converse(keys("8", "", ""))
    assert played(commands)[:2] == ["hotline-welcome", "hotline-invalid"]
