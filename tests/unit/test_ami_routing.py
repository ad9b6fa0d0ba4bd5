"""AmiProtocol routing without a network: bytes in, answers/events/callbacks out, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from telephony.ami_connection import AmiActionError, AmiConnectionLost, AmiEvent, AmiProtocol
from telephony.ami_protocol import encode_action

BANNER = b"Asterisk Call Manager/5.0.6\r\n"


class RecordingTransport:
    """Just enough of an asyncio transport to drive a protocol without a socket."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written += data

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class Harness:
    """One AmiProtocol whose callbacks append to a single ordered log."""

    def __init__(self) -> None:
        self.log: list[Any] = []
        self.protocol = AmiProtocol(
            encoding="utf-8",
            on_connected=lambda: self.log.append("connected"),
            on_event=self.log.append,
            on_disconnected=lambda reason: self.log.append(("disconnected", reason)),
        )
        self.transport = RecordingTransport()
        self.protocol.connection_made(self.transport)
        self.protocol.data_received(BANNER)

    def feed(self, text: str) -> None:
        self.protocol.data_received(text.encode())

    def start(self, name: str, action_id: str, *, is_list: bool = False) -> asyncio.Task[Any]:
        data = encode_action(name, action_id, {})
        return asyncio.create_task(self.protocol.request(action_id, name, data, is_list=is_list))

    async def login(self) -> None:
        task = self.start("Login", "login-1")
        await asyncio.sleep(0)
        self.feed(
            "Response: Success\r\nActionID: login-1\r\nMessage: Authentication accepted\r\n\r\n"
        )
        await task

    def events(self) -> list[str]:
        return [item.name for item in self.log if isinstance(item, AmiEvent)]


async def test_connected_precedes_events_read_in_the_same_chunk_as_the_login_answer() -> None:
    h = Harness()
    task = h.start("Login", "L")
    await asyncio.sleep(0)
    h.feed(
        "Response: Success\r\nActionID: L\r\nMessage: Authentication accepted\r\n\r\n"
        "Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"
        "Event: Newchannel\r\nCallerIDName: 张三丰\r\n\r\n"
    )
    await task
    assert h.log[0] == "connected"
    assert [e.name for e in h.log[1:]] == ["FullyBooted", "Newchannel"]
    assert h.log[2].get("CallerIDName") == "张三丰"


async def test_event_before_login_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness()
    h.feed("Event: Newchannel\r\n\r\n")
    assert h.log == []
    assert "before login" in caplog.text


async def test_events_are_read_only_mappings_with_get() -> None:
    h = Harness()
    await h.login()
    h.feed("Event: Hangup\r\nCause: 16\r\nChanVariable: A=1\r\nChanVariable: B=2\r\n\r\n")
    event = h.log[-1]
    assert event.name == "Hangup"
    assert event.get("Cause") == "16"
    assert event.get("Missing", "") == ""
    assert event.headers["ChanVariable"] == "A=1\nB=2"
    with pytest.raises(TypeError):
        event.headers["Cause"] = "17"


async def test_response_resolves_its_action_and_error_raises_with_the_response() -> None:
    h = Harness()
    await h.login()
    ok, bad = h.start("Ping", "p1"), h.start("Redirect", "r1")
    await asyncio.sleep(0)
    assert b"Action: Ping\r\nActionID: p1\r\n\r\n" in h.transport.written
    h.feed("Response: Error\r\nActionID: r1\r\nMessage: Channel not specified\r\n\r\n")
    h.feed("Response: Success\r\nActionID: p1\r\nPing: Pong\r\n\r\n")
    assert (await ok)[0]["Ping"] == "Pong"
    with pytest.raises(AmiActionError, match="Channel not specified") as caught:
        await bad
    assert caught.value.response["Message"] == "Channel not specified"
    assert h.events() == []


async def test_failed_command_error_names_the_cli_output() -> None:
    h = Harness()
    await h.login()
    task = h.start("Command", "cmd1")
    await asyncio.sleep(0)
    h.feed(
        "Response: Error\r\nActionID: cmd1\r\nMessage: Command output follows\r\n"
        "Output: No such command 'nonsense'\r\n\r\n"
    )
    with pytest.raises(AmiActionError, match="No such command 'nonsense'"):
        await task


async def test_list_items_go_to_the_action_and_other_events_to_the_queue() -> None:
    h = Harness()
    await h.login()
    task = h.start("CoreShowChannels", "c1", is_list=True)
    await asyncio.sleep(0)
    h.feed(
        "Response: Success\r\nActionID: c1\r\nEventList: start\r\n"
        "Message: Channels will follow\r\n\r\n"
        "Event: CoreShowChannel\r\nActionID: c1\r\nChannel: PJSIP/a-1\r\n\r\n"
        "Event: Newchannel\r\nChannel: PJSIP/b-2\r\n\r\n"
        "Event: CoreShowChannel\r\nActionID: c1\r\nChannel: PJSIP/c-3\r\n\r\n"
        "Event: CoreShowChannelsComplete\r\nActionID: c1\r\nEventList: Complete\r\n"
        "ListItems: 2\r\n\r\n"
    )
    response, items = await task
    assert response["Message"] == "Channels will follow"
    assert [i["Channel"] for i in items] == ["PJSIP/a-1", "PJSIP/c-3"]
    assert h.events() == ["Newchannel"]


async def test_list_with_error_answer_raises() -> None:
    h = Harness()
    await h.login()
    task = h.start("QueueStatus", "q1", is_list=True)
    await asyncio.sleep(0)
    h.feed("Response: Error\r\nActionID: q1\r\nMessage: Permission denied\r\n\r\n")
    with pytest.raises(AmiActionError, match="Permission denied"):
        await task


async def test_items_of_an_abandoned_list_are_dropped_not_enqueued() -> None:
    h = Harness()
    await h.login()
    task = h.start("CoreShowChannels", "c2", is_list=True)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    h.feed(
        "Response: Success\r\nActionID: c2\r\nEventList: start\r\n\r\n"
        "Event: CoreShowChannel\r\nActionID: c2\r\n\r\n"
        "Event: CoreShowChannelsComplete\r\nActionID: c2\r\nEventList: Complete\r\n\r\n"
        "Event: OriginateResponse\r\nActionID: c2\r\n\r\n"
    )
    assert h.events() == ["OriginateResponse"]


async def test_connection_loss_fails_pending_actions_and_reports_once() -> None:
    h = Harness()
    await h.login()
    first, second = h.start("Originate", "o1"), h.start("CoreShowChannels", "c3", is_list=True)
    await asyncio.sleep(0)
    h.protocol.connection_lost(None)
    for task in (first, second):
        with pytest.raises(AmiConnectionLost, match="closed by Asterisk"):
            await task
    assert h.log[-1] == ("disconnected", "connection closed by Asterisk")
    assert await h.protocol.lost == "connection closed by Asterisk"
    with pytest.raises(AmiConnectionLost):
        await h.start("Ping", "p2")


async def test_loss_before_login_is_not_reported_as_a_disconnection() -> None:
    h = Harness()
    h.protocol.connection_lost(ConnectionResetError())
    assert h.log == []


async def test_shutdown_event_is_enqueued_and_names_the_disconnection() -> None:
    h = Harness()
    await h.login()
    h.feed("Event: Shutdown\r\nShutdown: Cleanly\r\nRestart: False\r\n\r\n")
    h.protocol.connection_lost(None)
    assert h.events() == ["Shutdown"]
    assert h.log[-1] == ("disconnected", "Asterisk shut down")


async def test_a_failing_callback_does_not_stop_the_reader(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def on_event(event: AmiEvent) -> None:
        if event.name == "Boom":
            raise RuntimeError("consumer bug")
        seen.append(event.name)

    protocol = AmiProtocol(
        encoding="utf-8", on_connected=lambda: None, on_event=on_event, on_disconnected=print
    )
    protocol.connection_made(RecordingTransport())
    protocol.logged_in = True
    protocol.data_received(BANNER + b"Event: A\r\n\r\nEvent: Boom\r\n\r\nEvent: B\r\n\r\n")
    assert seen == ["A", "B"]
    assert "could not be handled" in caplog.text


async def test_panoramisk_unchecked_send_is_blocked() -> None:
    h = Harness()
    with pytest.raises(NotImplementedError):
        h.protocol.send({"Action": "Hangup", "Channel": "x\r\nAction: Originate"})
    assert h.transport.written == b""
