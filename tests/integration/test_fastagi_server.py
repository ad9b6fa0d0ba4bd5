"""The FastAGI server against real TCP clients playing Asterisk, including hostile ones.

The first tests each name the panoramisk 1.4 defect they guard against and why plain
``panoramisk.fast_agi.Application.handler`` would fail them.
"""

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress

import pytest

from ivr import AgiCommandError, AgiHangup, AgiSession, FastAgiServer, Flow
from tests.support.fake_asterisk import Answer, FakeAsterisk, header_block, wait_until

Calls = list[dict[str, str]]


def recording_flow(calls: Calls) -> Flow:
    """A flow that stores the call's variables and answers it."""

    async def flow(session: AgiSession) -> None:
        calls.append(dict(session.variables))
        await session.answer()

    return flow


def dropped(caplog: pytest.LogCaptureFixture, reason: str) -> Callable[[], bool]:
    return lambda: any("dropped" in r.message and reason in r.message for r in caplog.records)


def always(reply: str | None) -> Answer:
    return lambda _: reply


async def good_call(port: int) -> list[str]:
    peer = await FakeAsterisk.connect(port)
    await peer.send(header_block())
    async with asyncio.timeout(2):
        return await peer.converse()


async def test_client_closing_mid_headers_does_not_freeze_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """panoramisk: ``buffer += await reader.read(100)`` returns b'' at once after EOF and never
    yields, so its ``while b'\\n\\n' not in buffer`` spins forever: the event loop freezes,
    the good call below is never served and even ``asyncio.timeout`` cannot fire (only
    pytest-timeout's signal ends the test)."""
    calls: Calls = []
    async with FastAgiServer("127.0.0.1", 0, {"ivr": recording_flow(calls)}) as server:
        bad = await FakeAsterisk.connect(server.port)
        await bad.send(header_block()[:150])
        await bad.close()
        async with asyncio.timeout(2):
            await wait_until(dropped(caplog, "closed before the end of the headers"))
        assert await good_call(server.port) == ["ANSWER"]
    assert len(calls) == 1


@pytest.mark.parametrize("shape", ["many lines", "one endless line"])
async def test_endless_header_block_is_cut_off(
    caplog: pytest.LogCaptureFixture, shape: str
) -> None:
    """panoramisk keeps appending to its buffer with no limit and never closes the socket:
    ``read_until_closed`` would time out (and memory grows with what the client sends)."""
    filler = b"agi_x: " + b"y" * 100 + b"\n" if shape == "many lines" else b"z" * 4096
    calls: Calls = []
    async with FastAgiServer("127.0.0.1", 0, {"ivr": recording_flow(calls)}) as server:
        peer = await FakeAsterisk.connect(server.port)

        async def flood() -> None:
            with suppress(ConnectionError):
                for _ in range(2000):  # up to 8 MB, far past the 64 KiB limit
                    await peer.send(filler)

        flooding = asyncio.create_task(flood())
        async with asyncio.timeout(2):
            await peer.read_until_closed()
        flooding.cancel()
        with suppress(asyncio.CancelledError):
            await flooding
        await peer.close()
        assert await good_call(server.port) == ["ANSWER"]
    assert len(calls) == 1
    assert dropped(caplog, "")()


async def test_oversized_but_complete_header_block_is_rejected() -> None:
    """panoramisk accepts a header block of any size and would run the flow (``calls`` would
    hold one entry): a 70 KiB block is far beyond Asterisk's ~1 KiB and is refused."""
    calls: Calls = []
    padding = {f"agi_pad_{i}": "p" * 100 for i in range(700)}
    async with FastAgiServer("127.0.0.1", 0, {"ivr": recording_flow(calls)}) as server:
        peer = await FakeAsterisk.connect(server.port)
        with suppress(ConnectionError):
            await peer.send(header_block(**padding))
        async with asyncio.timeout(2):
            await peer.read_until_closed()
        await peer.close()
    assert calls == []


async def test_header_limit_is_configurable() -> None:
    """The same 2 KiB block passes or not depending on ``max_header_bytes``."""
    block = header_block(agi_arg_1="a" * 1500)
    for limit, expected_calls in ((1024, 0), (4096, 1)):
        calls: Calls = []
        flow = recording_flow(calls)
        async with FastAgiServer("127.0.0.1", 0, {"ivr": flow}, max_header_bytes=limit) as srv:
            peer = await FakeAsterisk.connect(srv.port)
            await peer.send(block)
            async with asyncio.timeout(2):
                await peer.converse()
        assert len(calls) == expected_calls


async def test_slow_loris_is_dropped_after_the_header_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """panoramisk has no time limit: a client trickling header lines holds its connection
    (and a task) forever, so ``read_until_closed`` would time out. Meanwhile other calls
    must still be served."""
    calls: Calls = []
    flows = {"ivr": recording_flow(calls)}
    async with FastAgiServer("127.0.0.1", 0, flows, header_timeout=0.3) as server:
        loris = await FakeAsterisk.connect(server.port)

        async def trickle() -> None:
            with suppress(ConnectionError):
                for i in range(1000):
                    await loris.send(f"agi_slow_{i}: x\n".encode())
                    await asyncio.sleep(0.02)

        trickling = asyncio.create_task(trickle())
        started = asyncio.get_running_loop().time()
        assert await good_call(server.port) == ["ANSWER"]
        async with asyncio.timeout(2):
            await loris.read_until_closed()
        elapsed = asyncio.get_running_loop().time() - started
        trickling.cancel()
        with suppress(asyncio.CancelledError):
            await trickling
        await loris.close()
    assert 0.25 < elapsed < 1.5
    assert dropped(caplog, "no headers within 0.3 s")()
    assert len(calls) == 1


async def test_invalid_utf8_in_headers_does_not_kill_the_call() -> None:
    """panoramisk decodes the block strictly: ``UnicodeDecodeError`` escapes its handler, the
    flow never runs and Asterisk gets a closed socket (``calls`` would be empty)."""
    calls: Calls = []
    async with FastAgiServer("127.0.0.1", 0, {"ivr": recording_flow(calls)}) as server:
        peer = await FakeAsterisk.connect(server.port)
        block = header_block(agi_calleridname="NAME").replace(b"NAME", b"\xff\xfe\xe5\xbc")
        await peer.send(block)
        async with asyncio.timeout(2):
            assert await peer.converse() == ["ANSWER"]
    assert calls[0]["agi_calleridname"] == "\ufffd\ufffd\ufffd"
    assert calls[0]["agi_callerid"] == "13800138000"


async def test_chinese_split_across_tcp_segments_arrives_intact() -> None:
    """A UTF-8 character cut between two sends must come out whole. panoramisk's FastAGI
    handler happens to pass this (it decodes the joined buffer); its AMI reader, which
    decodes each chunk on its own, does not — this keeps our reader from regressing so."""
    calls: Calls = []
    async with FastAgiServer("127.0.0.1", 0, {"ivr": recording_flow(calls)}) as server:
        peer = await FakeAsterisk.connect(server.port)
        block = header_block(agi_calleridname="张三", agi_arg_1="市民热线")
        cut = block.index("张".encode()) + 1  # inside the three bytes of 张
        await peer.send(block[:cut])
        await asyncio.sleep(0.05)
        await peer.send(block[cut:])
        async with asyncio.timeout(2):
            await peer.converse()
    assert calls[0]["agi_calleridname"] == "张三"
    assert calls[0]["agi_arg_1"] == "市民热线"


@pytest.mark.parametrize("script", ["nosuchflow", None])
async def test_unknown_or_missing_script_is_closed_and_logged(
    caplog: pytest.LogCaptureFixture, script: str | None
) -> None:
    calls: Calls = []
    async with FastAgiServer("127.0.0.1", 0, {"ivr": recording_flow(calls)}) as server:
        peer = await FakeAsterisk.connect(server.port)
        block = header_block(agi_network_script=script or "")
        if script is None:
            block = block.replace(b"agi_network_script: \n", b"")
        await peer.send(block)
        async with asyncio.timeout(2):
            assert await peer.converse() == []
    assert calls == []
    assert f"unknown script {script!r}" in caplog.text


async def test_session_commands_and_replies_over_tcp() -> None:
    results: list[object] = []

    async def flow(session: AgiSession) -> None:
        await session.answer()
        results.append(await session.stream_file("/snd/hotline-welcome", "12#"))
        results.append(await session.get_data("/snd/hotline-survey", 3000, 1))
        results.append(await session.get_data("/snd/hotline-survey", 3000, 4))
        results.append(await session.wait_for_digit(2000))
        await session.set_variable("CALLER", '张"三\\\n;')
        await session.verbose("你好 world", 3)

    replies = iter(
        [
            "200 result=0",
            "200 result=50 endpos=4000",
            "200 result= (timeout)",
            "200 result=12 (timeout)",
            "200 result=0",
            "100 result=0 Trying...\n200 result=1",
            "200 result=1",
        ]
    )
    async with FastAgiServer("127.0.0.1", 0, {"ivr": flow}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block())
        async with asyncio.timeout(2):
            commands = await peer.converse(lambda _: next(replies))
    assert commands == [
        "ANSWER",
        'STREAM FILE "/snd/hotline-welcome" "12#"',
        'GET DATA "/snd/hotline-survey" 3000 1',
        'GET DATA "/snd/hotline-survey" 3000 4',
        "WAIT FOR DIGIT 2000",
        'SET VARIABLE CALLER "张\\"三\\\\;"',
        'VERBOSE "你好 world" 3',
    ]
    assert results == ["2", "", "12", None]


async def test_multi_line_usage_error_keeps_replies_in_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Asterisk answers a malformed command with ``520-`` usage text ending in ``520 End of
    proper usage.``. panoramisk reads one line of it only, so the next command takes the
    leftover usage text as its reply (it fails with ``int('')``: checked by hand) instead of
    ``result=49``."""
    answers: list[str | None] = []

    async def flow(session: AgiSession) -> None:
        with pytest.raises(AgiCommandError, match="AGIUsageError"):
            await session.wait_for_digit(1000)
        answers.append(await session.stream_file("/snd/x", "1"))

    usage = (
        "520-Invalid command syntax.  Proper usage follows:\n"
        " Usage: WAIT FOR DIGIT <timeout>\n"
        "        Waits up to <timeout> milliseconds for channel to receive a DTMF digit.\n"
        "520 End of proper usage."
    )
    replies = iter([usage, "200 result=49 endpos=1"])
    async with FastAgiServer("127.0.0.1", 0, {"ivr": flow}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block())
        async with asyncio.timeout(2):
            await peer.converse(lambda _: next(replies))
    assert answers == ["1"]
    assert "flow failed" not in caplog.text


@pytest.mark.parametrize("how", ["HANGUP line", "511 dead channel", "socket closed"])
async def test_hangup_mid_flow_is_one_log_line_without_traceback(
    caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """panoramisk: a closed socket makes ``parse_agi_result('')`` call ``int('')`` and the
    ``ValueError`` is logged with a traceback; here the flow sees ``AgiHangup``."""
    reached: list[str] = []

    async def flow(session: AgiSession) -> None:
        await session.answer()
        reached.append("answered")
        await session.stream_file("/snd/hotline-welcome")
        reached.append("after playback")

    def answer(command: str) -> str | None:
        if command == "ANSWER":
            return "200 result=0"
        return {"HANGUP line": "HANGUP", "511 dead channel": "511 Command Not Permitted"}.get(how)

    caplog.set_level(logging.INFO, logger="ivr")
    async with FastAgiServer("127.0.0.1", 0, {"ivr": flow}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block(agi_uniqueid="1700000000.42"))
        async with asyncio.timeout(2):
            await peer.converse(answer)
        async with asyncio.timeout(2):
            await wait_until(lambda: "caller hung up" in caplog.text)
    assert reached == ["answered"]
    [record] = [r for r in caplog.records if "caller hung up" in r.message]
    assert "1700000000.42" in record.message
    assert all(r.exc_info is None for r in caplog.records)


async def test_failed_command_and_crashing_flow_are_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def refused(session: AgiSession) -> None:
        await session.answer()

    async def buggy(session: AgiSession) -> None:
        raise RuntimeError("bug in a flow")

    routes: dict[str, Flow] = {"refused": refused, "buggy": buggy}
    async with FastAgiServer("127.0.0.1", 0, routes) as server:
        for script, reply in (("refused", "200 result=-1"), ("buggy", "")):
            peer = await FakeAsterisk.connect(server.port)
            await peer.send(header_block(agi_network_script=script))
            async with asyncio.timeout(2):
                await peer.converse(always(reply or None))
        assert await good_call_on(server.port, "refused") == ["ANSWER"]
    [failed] = [r for r in caplog.records if "command failed" in r.message]
    assert failed.exc_info is None and "AGIAppError" in failed.message
    [crashed] = [r for r in caplog.records if "flow failed" in r.message]
    assert crashed.exc_info is not None  # a real bug keeps its traceback


async def good_call_on(port: int, script: str) -> list[str]:
    peer = await FakeAsterisk.connect(port)
    await peer.send(header_block(agi_network_script=script))
    async with asyncio.timeout(2):
        return await peer.converse()


async def test_leaving_the_context_cancels_calls_in_progress(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stopping is quiet: asyncio 3.11 logs "Exception in callback" for a cancelled
    connection task, which the server avoids."""
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def waits_forever(session: AgiSession) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    server = FastAgiServer("127.0.0.1", 0, {"ivr": waits_forever})
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port
    async with server:
        port = server.port
        peer = await FakeAsterisk.connect(port)
        await peer.send(header_block())
        async with asyncio.timeout(2):
            await started.wait()
    async with asyncio.timeout(2):
        await peer.read_until_closed()
    await peer.close()
    assert cancelled == [True]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    with pytest.raises(OSError):
        await FakeAsterisk.connect(port)


async def test_hangup_is_an_exception_a_flow_may_catch() -> None:
    """Flows that must clean up on hang-up can catch ``AgiHangup`` themselves."""
    seen: list[str] = []

    async def flow(session: AgiSession) -> None:
        try:
            await session.answer()
        except AgiHangup:
            seen.append("hangup")

    async with FastAgiServer("127.0.0.1", 0, {"ivr": flow}) as server:
        peer = await FakeAsterisk.connect(server.port)
        await peer.send(header_block())
        async with asyncio.timeout(2):
            await peer.converse(always(None))
        async with asyncio.timeout(2):
            await wait_until(lambda: seen == ["hangup"])
