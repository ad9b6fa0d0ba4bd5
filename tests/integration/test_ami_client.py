"""AmiClient against a small real AMI server on loopback TCP (no mocks).

The server speaks Asterisk 16's wire format: banner, Login, Ping, Command, an EventList
action, unknown actions answered with an error; tests make it hold answers, go silent, push
raw bytes or drop connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from panoramisk import Manager

from telephony.ami import AmiClient
from telephony.ami_connection import (
    AmiActionError,
    AmiConnected,
    AmiConnectionLost,
    AmiDisconnected,
    AmiEvent,
    AmiItem,
)

SECRET = "s3cret"


def _headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.decode().split("\r\n"):
        key, _, value = line.partition(": ")
        if key:
            headers[key] = value
    return headers


def _message(**headers: str) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"


class FakeAsterisk:
    """An AMI server on 127.0.0.1 that records every action it reads."""

    def __init__(self, *, after_login: bytes = b"", reject_logins: int = 0) -> None:
        self.after_login = after_login
        self.reject_logins = reject_logins
        self.answer_pings = True
        self.hold: set[str] = set()  # actions read but never answered
        self.actions: list[dict[str, str]] = []
        self.login_times: list[float] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> FakeAsterisk:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop listening and drop every connection (like Asterisk being killed)."""
        self._server.close()
        self.drop()  # each handler then ends on its own (cancelling it makes asyncio log)
        await asyncio.gather(*self._handlers)
        await self._server.wait_closed()

    def count(self, name: str) -> int:
        return sum(a.get("Action") == name for a in self.actions)

    def push(self, data: bytes) -> None:
        for writer in self._writers:
            writer.write(data)

    def drop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.append(writer)
        writer.write(b"Asterisk Call Manager/5.0.6\r\n")
        try:
            while True:
                action = _headers(await reader.readuntil(b"\r\n\r\n"))
                self.actions.append(action)
                writer.write(self._answer(action))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.transport.abort()
            self._handlers.discard(task)

    def _answer(self, action: dict[str, str]) -> bytes:
        name, action_id = action.get("Action", ""), action.get("ActionID", "")
        if name in self.hold or (name == "Ping" and not self.answer_pings):
            return b""
        if name == "Login":
            self.login_times.append(time.monotonic())
            if self.reject_logins or action.get("Secret") != SECRET:
                self.reject_logins -= 1
                return _message(
                    Response="Error", ActionID=action_id, Message="Authentication failed"
                )
            return (
                _message(Response="Success", ActionID=action_id, Message="Authentication accepted")
                + self.after_login
            )
        if name == "Ping":
            return _message(Response="Success", ActionID=action_id, Ping="Pong")
        if name == "Command":
            return _message(
                Response="Success", ActionID=action_id, Message="Command output follows"
            ).replace(b"\r\n\r\n", b"\r\nOutput: Name/Number  Paused\r\nOutput: 1001 no\r\n\r\n")
        if name == "CoreShowChannels":
            return b"".join(
                [
                    _message(
                        Response="Success",
                        ActionID=action_id,
                        EventList="start",
                        Message="Channels will follow",
                    ),
                    _message(Event="CoreShowChannel", ActionID=action_id, CallerIDName="张三丰"),
                    _message(Event="Newexten", Channel="PJSIP/1001-00000001"),
                    _message(Event="CoreShowChannel", ActionID=action_id, CallerIDName="李四"),
                    _message(
                        Event="CoreShowChannelsComplete",
                        ActionID=action_id,
                        EventList="Complete",
                        ListItems="2",
                    ),
                ]
            )
        return _message(Response="Error", ActionID=action_id, Message="Invalid/unknown command")


@contextlib.asynccontextmanager
async def client_for(server: FakeAsterisk, **options: Any) -> AsyncIterator[AmiClient]:
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": "hotline",
        "secret": SECRET,
        "ping_interval": 0.2,
        "ping_timeout": 0.2,
        "backoff_initial": 0.02,
        "backoff_max": 0.1,
    }
    async with AmiClient(**(params | options)) as client:
        yield client


async def next_item(client: AmiClient, within: float = 2.0) -> AmiItem:
    async with asyncio.timeout(within):
        return await client.events.get()


async def next_of(client: AmiClient, kind: type[Any], within: float = 2.0) -> Any:
    """Skip items until one of ``kind``."""
    async with asyncio.timeout(within):
        while not isinstance(item := await client.events.get(), kind):
            pass
        return item


async def eventually(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Poll a condition on the fake server's state with a deadline, never a fixed sleep."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_login_then_actions_and_ordered_events() -> None:
    events = b"".join(_message(Event="VarSet", Value=str(i)) for i in range(1000))
    async with FakeAsterisk(after_login=events) as server, client_for(server) as client:
        await client.wait_connected(2)
        assert client.connected
        assert isinstance(await next_item(client), AmiConnected)
        values = [(await next_item(client)).get("Value") for _ in range(1000)]  # type: ignore[union-attr]
        assert values == [str(i) for i in range(1000)]
        assert (await client.action("Ping"))["Ping"] == "Pong"
        login = server.actions[0]
        assert (login["Action"], login["Username"], login["Secret"]) == (
            "Login",
            "hotline",
            SECRET,
        )


async def test_action_error_and_timeout() -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        with pytest.raises(AmiActionError, match="Invalid/unknown command") as caught:
            await client.action("NoSuchAction", Channel="PJSIP/1001")
        assert caught.value.response["Response"] == "Error"
        server.hold.add("Redirect")
        with pytest.raises(TimeoutError, match="Redirect"):
            await client.action("Redirect", timeout=0.05, Channel="PJSIP/1001-1")
        assert client.connected


async def test_action_list_and_command() -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        items = await client.action_list("CoreShowChannels")
        assert [i["CallerIDName"] for i in items] == ["张三丰", "李四"]
        assert await client.command("queue show") == "Name/Number  Paused\n1001 no"
        await next_of(client, AmiConnected)
        newexten = await next_item(client)
        assert isinstance(newexten, AmiEvent)
        assert newexten.name == "Newexten"
        assert client.events.empty()


async def test_chinese_split_across_tcp_segments_arrives_intact() -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        data = _message(Event="Newchannel", CallerIDName="张三丰", Exten="12345")
        cut = data.index("三".encode()) + 2
        server.push(data[:cut])
        await asyncio.sleep(0.02)  # let the first half be read on its own
        server.push(data[cut:])
        event = await next_of(client, AmiEvent)
        assert event.get("CallerIDName") == "张三丰"


async def test_header_injection_is_refused_and_nothing_reaches_the_server() -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        with pytest.raises(ValueError, match="CallerID"):
            await client.action(
                "Originate",
                Channel="PJSIP/1001",
                CallerID="x\r\nAction: Hangup\r\nChannel: PJSIP/1002-00000001",
            )
        await client.action("Ping")
        assert [a["Action"] for a in server.actions] == ["Login", "Ping"]


async def test_silent_connection_is_declared_dead_within_interval_plus_timeout() -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        server.answer_pings = False  # TCP stays open, Asterisk says nothing: half-open
        silent_since = time.monotonic()
        lost = await next_of(client, AmiDisconnected, within=2)
        assert time.monotonic() - silent_since <= 0.2 + 0.2 + 0.15
        assert "Ping" in lost.reason
        server.answer_pings = True
        await next_of(client, AmiConnected)
        assert server.count("Login") == 2


async def test_pending_action_fails_on_loss_and_is_never_resent() -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        server.hold.add("Originate")
        originate = asyncio.create_task(
            client.action("Originate", Channel="PJSIP/1001", Exten="12345", Async="true")
        )
        await eventually(lambda: server.count("Originate") == 1)
        server.drop()
        with pytest.raises(AmiConnectionLost, match="Originate"):
            await originate
        await next_of(client, AmiDisconnected)
        await next_of(client, AmiConnected)
        await client.action("Ping")  # the new connection is in use, nothing queued before it
        assert server.count("Originate") == 1
        assert server.count("Login") == 2


async def test_panoramisk_manager_resends_the_unanswered_originate() -> None:
    """The upstream defect the test above guards against: plain panoramisk Manager sends an
    unanswered Originate again after it reconnects (on FullyBooted)."""
    fully_booted = _message(Event="FullyBooted", Status="Fully Booted")
    async with FakeAsterisk(after_login=fully_booted) as server:
        server.hold.add("Originate")
        manager = Manager(
            host="127.0.0.1",
            port=server.port,
            username="hotline",
            secret=SECRET,
            reconnect_timeout=0,
            ping_delay=60,
            loop=asyncio.get_running_loop(),
            log=logging.getLogger("panoramisk-under-test"),
        )
        manager.connect()
        try:
            await eventually(lambda: manager.authenticated)
            manager.send_action({"Action": "Originate", "Channel": "PJSIP/1001"})
            await eventually(lambda: server.count("Originate") == 1)
            server.drop()
            await eventually(lambda: server.count("Originate") == 2)
        finally:
            manager.close()
            await asyncio.sleep(0)


async def test_panoramisk_manager_misses_a_silent_connection() -> None:
    """The upstream defect the test above guards against: plain panoramisk Manager keeps
    pinging a connection that never answers and never reports it lost."""
    async with FakeAsterisk() as server:
        lost: list[object] = []
        manager = Manager(
            host="127.0.0.1",
            port=server.port,
            username="hotline",
            secret=SECRET,
            ping_delay=1,  # panoramisk truncates these to whole seconds
            ping_interval=1,
            loop=asyncio.get_running_loop(),
            log=logging.getLogger("panoramisk-under-test"),
            on_disconnect=lambda manager, exc: lost.append(exc),
        )
        manager.connect()
        try:
            await eventually(lambda: manager.authenticated)
            server.answer_pings = False
            await asyncio.sleep(1 + 1 + 0.3)  # well past interval + timeout for our client
            assert server.count("Ping") >= 1
            assert lost == []
        finally:
            manager.close()
            await asyncio.sleep(0)


async def test_backoff_doubles_to_the_cap_and_resets_after_login() -> None:
    # Sleeps never end early, so lower bounds are exact; upper bounds only need to tell the
    # next step apart (a loaded CI machine delays timers by tenths of a second).
    async with (
        FakeAsterisk(reject_logins=5) as server,
        client_for(server, backoff_initial=0.05, backoff_max=0.4) as client,
    ):
        await client.wait_connected(5)
        times = server.login_times
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        for gap, expected in zip(gaps, [0.05, 0.1, 0.2, 0.4, 0.4], strict=True):  # doubled
            assert gap >= expected - 0.005
        assert gaps[-1] < 0.8  # capped: not doubled again
        server.drop()
        await next_of(client, AmiDisconnected)
        before = time.monotonic()
        await next_of(client, AmiConnected)
        assert time.monotonic() - before < 0.4  # back to the initial delay, not the cap


async def test_reconnects_when_asterisk_comes_back_on_the_same_port() -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        await server.stop()
        lost = await next_of(client, AmiDisconnected)
        assert not client.connected
        with pytest.raises(AmiConnectionLost, match="not connected"):
            await client.action("Ping")
        await asyncio.sleep(0.15)  # a few refused attempts
        revived = FakeAsterisk()
        revived.port = server.port
        async with revived:
            await next_of(client, AmiConnected)
            assert (await client.action("Ping"))["Ping"] == "Pong"
        assert lost.reason


async def test_shutdown_event_then_close() -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        server.push(_message(Event="Shutdown", Shutdown="Cleanly", Restart="False"))
        shutdown = await next_of(client, AmiEvent)
        assert shutdown.name == "Shutdown"
        server.drop()
        lost = await next_item(client)
        assert isinstance(lost, AmiDisconnected)
        assert lost.reason == "Asterisk shut down"


async def test_malformed_traffic_is_logged_and_the_reader_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeAsterisk() as server, client_for(server) as client:
        await client.wait_connected(2)
        await next_of(client, AmiConnected)
        server.push(
            b"garbage without colon\r\n\xff\xfe\x00\x01\r\n\r\n"
            b"Event: Newchannel\r\nno colon\r\nCallerIDName: " + "长".encode() * 5000 + b"\r\n\r\n"
            b"Foo: bar\r\n\r\n"
            b"Event: Hangup\r\nCause: 16\r\n\r\n"
        )
        newchannel = await next_item(client)
        hangup = await next_item(client)
        assert isinstance(newchannel, AmiEvent)
        assert newchannel.get("CallerIDName") == "长" * 5000
        assert isinstance(hangup, AmiEvent)
        assert hangup.get("Cause") == "16"
        assert client.connected
        server.push(b"Event: Hangup\r\nChannel: PJSIP/1001-0000")  # cut off by the close
        await asyncio.sleep(0.02)
        server.drop()
        assert isinstance(await next_item(client), AmiDisconnected)
        assert "ended inside a message" in caplog.text
        await next_of(client, AmiConnected)


async def test_wrong_secret_keeps_retrying_and_wait_connected_times_out() -> None:
    async with FakeAsterisk() as server, client_for(server, secret="wrong") as client:
        with pytest.raises(TimeoutError):
            await client.wait_connected(0.2)
        assert server.count("Login") >= 2
        assert client.events.empty()


async def test_exit_fails_pending_actions_and_leaves_no_task() -> None:
    before = asyncio.all_tasks()  # the worker's own (a browser module's Playwright pipe, …)
    async with FakeAsterisk() as server:
        server.hold.add("Originate")
        async with client_for(server) as client:
            await client.wait_connected(2)
            originate = asyncio.create_task(client.action("Originate", Channel="PJSIP/1001"))
            await eventually(lambda: server.count("Originate") == 1)
        with pytest.raises(AmiConnectionLost, match="client closed"):
            await originate
        items = [client.events.get_nowait() for _ in range(client.events.qsize())]
        assert isinstance(items[-1], AmiDisconnected)
        assert items[-1].reason == "AMI client closed"
        assert asyncio.all_tasks() - before <= server._handlers


def test_bounded_queue_is_refused() -> None:
    with pytest.raises(ValueError, match="unbounded"):
        AmiClient(
            host="127.0.0.1", port=1, username="u", secret="s", events=asyncio.Queue(maxsize=10)
        )
