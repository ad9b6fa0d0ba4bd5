"""The FastAGI server: panoramisk's ``Application`` with a header reader that cannot freeze.

panoramisk 1.4 reads the header block with ``while b'\\n\\n' not in buffer: buffer +=
await reader.read(100)``. When a client closes early, ``read`` returns ``b''`` at once without
yielding to the event loop, so the loop spins forever and the whole process stops serving.
It also has no size or time limit, and decodes strictly (one bad byte kills the request).
``_Application.handler`` replaces that method; routing, ``Request`` and parsing are reused.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from types import TracebackType
from typing import Self

from panoramisk.fast_agi import Application

from ivr.agi import AgiCommandError, AgiHangup, parse_headers
from ivr.session import AgiRequest, AgiSession

log = logging.getLogger(__name__)

Flow = Callable[[AgiSession], Awaitable[None]]
"""A call flow: runs with the session, returns when the dialplan should go on."""

MAX_HEADER_BYTES = 64 * 1024
"""Asterisk sends about 1 KiB of headers; 64 KiB leaves room for long arguments."""
HEADER_TIMEOUT_S = 5.0
"""Asterisk sends its headers in one go right after connecting."""


class HeaderError(Exception):
    """The client did not send a well-formed, bounded header block."""


async def read_header_block(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    """Read ``agi_*`` lines up to the empty line; raise ``HeaderError`` on EOF or excess.

    Whole lines are kept as bytes and decoded together later, so a multi-byte character
    split across TCP segments is not damaged.
    """
    block = bytearray()
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # a single line longer than the stream's limit
            raise HeaderError("header line too long") from None
        if not line.endswith(b"\n"):
            raise HeaderError("connection closed before the end of the headers")
        if len(block) + len(line) > max_bytes:
            raise HeaderError(f"header block larger than {max_bytes} bytes")
        if line in (b"\n", b"\r\n"):
            return bytes(block)
        block += line


class _Application(Application):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's routing table, fed by a bounded header reader and a typed flow runner."""

    def __init__(
        self, routes: Mapping[str, Flow], header_timeout: float, max_header_bytes: int
    ) -> None:
        super().__init__(default_encoding="utf-8")
        self._header_timeout = header_timeout
        self._max_header_bytes = max_header_bytes
        for path, flow in routes.items():
            self.add_route(path, self._endpoint(path, flow))

    @staticmethod
    def _endpoint(path: str, flow: Flow) -> Callable[[AgiRequest], Awaitable[None]]:
        """Wrap ``flow`` so a hang-up is one log line, not a traceback."""

        async def endpoint(request: AgiRequest) -> None:
            session = AgiSession(request)
            call = session.variables.get("agi_uniqueid", "")
            try:
                await flow(session)
            except AgiHangup as exc:
                log.info("FastAGI %r: caller hung up (uniqueid %r): %s", path, call, exc)
            except AgiCommandError as exc:
                log.warning("FastAGI %r: command failed (uniqueid %r): %s", path, call, exc)
            except Exception:
                log.exception("FastAGI %r: flow failed (uniqueid %r)", path, call)

        return endpoint

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            try:
                async with asyncio.timeout(self._header_timeout):
                    block = await read_header_block(reader, self._max_header_bytes)
            except TimeoutError:
                log.warning(
                    "FastAGI %s dropped: no headers within %s s", peer, self._header_timeout
                )
                return
            except (HeaderError, ConnectionError) as exc:
                log.warning("FastAGI %s dropped: %s", peer, exc)
                return
            headers = parse_headers(block)
            script = headers.get("agi_network_script")
            route = self._route.get(script)
            if route is None:
                log.error("FastAGI %s asked for unknown script %r", peer, script)
                return
            await route(AgiRequest(self, headers, reader, writer, self.default_encoding))
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()


class FastAgiServer:
    """Serves FastAGI ``routes`` (keyed by ``agi_network_script``) while the context is open.

    Leaving the context stops listening and cancels calls still in a flow, so start-up and
    shutdown are symmetric.
    """

    def __init__(
        self,
        host: str,
        port: int,
        routes: Mapping[str, Flow],
        *,
        header_timeout: float = HEADER_TIMEOUT_S,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._routes = dict(routes)
        self._header_timeout = header_timeout
        self._max_header_bytes = max_header_bytes
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``port=0``)."""
        if self._server is None:
            raise RuntimeError("FastAgiServer is not running")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> Self:
        self._stopping = False
        app = _Application(self._routes, self._header_timeout, self._max_header_bytes)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._calls.add(task)
            try:
                await app.handler(reader, writer)
            except asyncio.CancelledError:
                # asyncio (3.11) calls task.exception() on this task when it ends, which
                # raises and logs an error for a cancelled task: end normally on our shutdown.
                if not self._stopping:
                    raise
            finally:
                self._calls.discard(task)

        self._server = await asyncio.start_server(serve, self.host, self._requested_port)
        log.info("FastAGI listening on %s:%d", self.host, self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._stopping = True
        self._server.close()
        for task in self._calls:
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
