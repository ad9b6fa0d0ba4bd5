"""A scripted Asterisk for tests: the client side of FastAGI over a real TCP socket.

It sends the ``agi_*`` header block Asterisk 16 sends, then answers each command line the
server writes, as the test scripts it. Nothing here is used in production.
"""

import asyncio
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Self

ASTERISK_HEADERS: Mapping[str, str] = {
    "agi_network": "yes",
    "agi_network_script": "ivr",
    "agi_request": "agi://127.0.0.1:4573/ivr",
    "agi_channel": "PJSIP/caller-00000001",
    "agi_language": "zh",
    "agi_type": "PJSIP",
    "agi_uniqueid": "1700000000.1",
    "agi_version": "16.28.0~dfsg-0+deb11u3",
    "agi_callerid": "13800138000",
    "agi_calleridname": "张三",
    "agi_callingpres": "0",
    "agi_callingani2": "0",
    "agi_callington": "0",
    "agi_callingtns": "0",
    "agi_dnid": "12345",
    "agi_rdnis": "unknown",
    "agi_context": "hotline-inbound",
    "agi_extension": "12345",
    "agi_priority": "2",
    "agi_enhanced": "0.0",
    "agi_accountcode": "",
    "agi_threadid": "140000000000000",
}

Answer = Callable[[str], str | None]
"""Maps a command line to the reply line, or to ``None`` to drop the connection."""


def header_block(**overrides: str) -> bytes:
    """The header block Asterisk sends, with some values replaced or added."""
    headers = {**ASTERISK_HEADERS, **overrides}
    return "".join(f"{key}: {value}\n" for key, value in headers.items()).encode() + b"\n"


def asterisk_answer(command: str) -> str:
    """What a live channel replies when the caller presses nothing."""
    if command.startswith("WAIT FOR DIGIT"):
        return "200 result=0"
    if command.startswith("GET DATA"):
        return "200 result= (timeout)"
    if command.startswith("STREAM FILE"):
        return "200 result=0 endpos=12345"
    return "200 result=1" if command.startswith("SET VARIABLE") else "200 result=0"


def asterisk_parse_args(line: str) -> list[str]:
    """Python transcription of ``parse_args`` in Asterisk 16's res_agi.c.

    It is how Asterisk splits a command line into arguments: blanks separate, double quotes
    group, a backslash makes the next character literal.
    """
    args: list[list[str]] = []
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                args.append([])
                whitespace = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            args.append([])
            whitespace = False
        args[-1].append(ch)
        escaped = False
    return ["".join(arg) for arg in args]


async def wait_until(condition: Callable[[], bool], step: float = 0.01) -> None:
    """Poll ``condition`` until it holds; bound it with ``asyncio.timeout`` at the call site."""
    while True:
        if condition():
            return
        await asyncio.sleep(step)


class FakeAsterisk:
    """One FastAGI connection, Asterisk's end."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> Self:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def next_command(self) -> str | None:
        """The next command line the server sent, ``None`` once it closed the connection."""
        line = await self.reader.readline()
        return line.decode().removesuffix("\n") if line.endswith(b"\n") else None

    async def converse(self, answer: Answer = asterisk_answer) -> list[str]:
        """Answer commands until the server closes (or ``answer`` hangs up); return them."""
        commands = []
        while (command := await self.next_command()) is not None:
            commands.append(command)
            reply = answer(command)
            if reply is None:
                break
            await self.send(reply.encode() + b"\n")
        await self.close()
        return commands

    async def read_until_closed(self) -> None:
        """Return once the server has closed the connection (EOF or reset)."""
        with suppress(ConnectionError):
            while await self.reader.read(65536):
                pass

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()
