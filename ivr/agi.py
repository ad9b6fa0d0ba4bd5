"""The AGI protocol as data: header parsing, reply interpretation, typed errors. No I/O.

Reply lines are parsed by panoramisk's ``parse_agi_result``; this module turns its untyped
dict into an ``AgiResult`` or one of two exceptions, so flows never inspect status codes.
"""

from dataclasses import dataclass

from panoramisk.utils import parse_agi_result

from ivr.sanitize import clean_dtmf


class AgiError(Exception):
    """Base of the errors a flow may see from an AGI command."""


class AgiHangup(AgiError):
    """The channel is gone: ``HANGUP``, ``511`` (dead channel) or the socket closed."""


class AgiCommandError(AgiError):
    """Asterisk refused or failed the command (``result=-1``, ``510``, ``520``, garbage)."""


@dataclass(frozen=True)
class AgiResult:
    """A successful ``200`` reply: ``result=<result> (<data>)``."""

    result: str
    data: str
    line: str


def parse_headers(block: bytes) -> dict[str, str]:
    """Parse the ``agi_name: value`` lines Asterisk sends when it connects.

    Decoding is done once on the whole block, so a UTF-8 character split across TCP
    segments stays whole; bad bytes become U+FFFD instead of an exception. Lines are split
    on ``\\n`` only: ``str.splitlines`` would also cut a caller name at U+2028 or U+0085.
    """
    headers: dict[str, str] = {}
    for raw_line in block.decode("utf-8", errors="replace").split("\n"):
        key, sep, value = raw_line.removesuffix("\r").partition(": ")
        if sep:
            headers[key] = value
    return headers


def interpret_reply(line: str) -> AgiResult | None:
    """Interpret one reply line; ``None`` means ``100 Trying``: the real reply follows.

    Raises ``AgiHangup`` or ``AgiCommandError``. A multi-line ``520-`` usage text must be
    read to its end by the caller before calling this with its first line.
    """
    try:
        parsed = parse_agi_result(line)
    except ValueError:  # a line that does not start with a status code
        raise AgiCommandError(f"unreadable AGI reply {line!r}") from None
    error = parsed.get("error")
    status = parsed.get("status_code")
    if error == "AGIResultHangup" or status == 511:
        raise AgiHangup(line)
    if status == 100:
        return None
    if error is not None:
        raise AgiCommandError(f"{error}: {line!r}")
    result, data = parsed["result"]
    return AgiResult(result=result, data=data or "", line=line)


def digit_from_code(value: str) -> str | None:
    """Turn a ``result=`` character code (``49`` for ``1``) into a DTMF key, else ``None``.

    ``0`` (no key pressed) and any code that is not a DTMF key give ``None``.
    """
    if not (value.isascii() and value.isdigit()) or len(value) > 3:
        return None
    return clean_dtmf(chr(int(value))) or None
