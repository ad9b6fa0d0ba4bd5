"""One FastAGI call as seen by a flow: its ``agi_*`` variables and typed async commands.

Every value placed on a command line goes through ``ivr.sanitize``; every reply goes through
``ivr.agi.interpret_reply``, so a flow reads like a script and failures are exceptions.
"""

from collections.abc import Mapping
from types import MappingProxyType

from panoramisk.fast_agi import Request

from ivr.agi import AgiCommandError, AgiHangup, AgiResult, digit_from_code, interpret_reply
from ivr.sanitize import check_variable_name, clean_dtmf, quote_arg, quote_trusted

_MAX_USAGE_LINES = 200


class AgiRequest(Request):  # type: ignore[misc]  # panoramisk is untyped
    """panoramisk's ``Request`` with a reply reader that cannot hang, crash or lose sync.

    The inherited ``send_command`` fails on EOF (``int('')`` raises ``ValueError``), decodes
    strictly, and reads only one line of a multi-line ``520-`` usage reply, leaving the rest
    to be taken as the reply to the next command.
    """

    async def send_command(self, command: str) -> AgiResult:
        if any(ch in command for ch in "\r\n\0"):
            raise ValueError(f"AGI command must be one line: {command!r}")
        try:
            self.writer.write(command.encode(self.encoding) + b"\n")
            await self.writer.drain()
            while True:
                line = await self._read_line()
                if line.startswith("520-"):
                    await self._skip_usage_text()
                reply = interpret_reply(line)
                if reply is not None:
                    return reply
        except ConnectionError:
            raise AgiHangup("AGI connection lost") from None

    async def _read_line(self) -> str:
        try:
            raw: bytes = await self.reader.readline()
        except ValueError:  # longer than the stream's limit
            raise AgiCommandError("AGI reply line too long") from None
        if not raw.endswith(b"\n"):
            raise AgiHangup("Asterisk closed the AGI connection")
        return raw.decode(self.encoding, errors="replace").rstrip("\r\n")

    async def _skip_usage_text(self) -> None:
        """Read up to Asterisk's closing ``520 End of proper usage.`` line."""
        for _ in range(_MAX_USAGE_LINES):
            if (await self._read_line()).startswith("520 "):
                return
        raise AgiCommandError("520 usage text did not end")


def _int_arg(value: int, low: int, high: int) -> str:
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}..{high}")
    return str(int(value))


class AgiSession:
    """What a flow gets: the call's ``agi_*`` variables and the commands it may send."""

    def __init__(self, request: AgiRequest) -> None:
        self._request = request
        self.variables: Mapping[str, str] = MappingProxyType(dict(request.headers))

    async def _command(self, *parts: str) -> AgiResult:
        result: AgiResult = await self._request.send_command(" ".join(parts))
        return result

    async def answer(self) -> None:
        await self._command("ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """Play ``name`` (a path without extension); return the key that stopped it, if any."""
        if escape_digits and clean_dtmf(escape_digits) != escape_digits:
            raise ValueError(f"escape digits must be DTMF keys: {escape_digits!r}")
        reply = await self._command("STREAM FILE", quote_trusted(name), f'"{escape_digits}"')
        return digit_from_code(reply.result)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        """Play ``prompt`` and collect keys; anything but DTMF keys counts as no input."""
        reply = await self._command(
            "GET DATA",
            quote_trusted(prompt),
            _int_arg(timeout_ms, 0, 600_000),
            _int_arg(max_digits, 1, 1024),
        )
        return clean_dtmf(reply.result)

    async def wait_for_digit(self, ms: int) -> str | None:
        reply = await self._command("WAIT FOR DIGIT", _int_arg(ms, 0, 600_000))
        return digit_from_code(reply.result)

    async def record_file(self, name: str, max_ms: int, silence_s: int) -> None:
        """Record the caller to ``name`` (a path without extension) as WAV after a beep, up to
        ``max_ms``, ended early by ``silence_s`` seconds of silence or by ``#``."""
        await self._command(
            "RECORD FILE", quote_trusted(name), "wav", '"#"', _int_arg(max_ms, 1000, 600_000),
            "BEEP", f"s={_int_arg(silence_s, 1, 60)}",
        )  # fmt: skip

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable; ``value`` is cleaned, capped and quoted (see sanitize)."""
        await self._command("SET VARIABLE", check_variable_name(name), quote_arg(value))

    async def verbose(self, msg: str, level: int = 1) -> None:
        await self._command("VERBOSE", quote_arg(msg), _int_arg(level, 1, 4))
