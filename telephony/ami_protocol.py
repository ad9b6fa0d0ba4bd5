"""Sans-I/O AMI wire format: bytes in, header dicts out; action headers in, bytes out.

This replaces panoramisk 1.4's read and write paths, which (a) decode every TCP chunk on its
own with errors ignored, so a UTF-8 character split across two reads vanishes (Chinese caller
names get corrupted), and (b) write header values unchecked, so a value holding CR/LF injects
a second action. No socket here: the asyncio protocol in ``telephony.ami_connection`` feeds
bytes in.

Parse path cost: one incremental decode per chunk, one ``split`` per chunk on the message
separator, one ``split`` per message on line ends and one ``partition`` per line. A message
spread over many reads is kept as a list of parts and joined once, when its end arrives.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)

EOL = "\r\n"
SEPARATOR = EOL + EOL
BANNER_PREFIX = "Asterisk Call Manager/"
# Far above any real message (a CoreShowChannel is ~1 KB, a 5,000-char caller ID ~10 KB);
# only protects memory against a peer that never ends its message.
DEFAULT_MAX_MESSAGE_CHARS = 4 * 1024 * 1024
_MAX_BANNER_CHARS = 1024
_FORBIDDEN = ("\r", "\n", "\0")
_RESERVED_KEYS = frozenset({"action", "actionid"})

HeaderValue = str | Sequence[str]
"""One header value, or several for a header that repeats (e.g. Originate's ``Variable``)."""


def clip(text: str, limit: int = 120) -> str:
    """Short repr for logs: a hostile peer must not be able to flood the log with one line."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text)} chars)"


# Headers naming a caller or the other party (CallerIDNum, DestConnectedLineName, ...).
_CALLER_FIELDS = ("CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName")
REDACTED = "<redacted>"


def _shown(name: str, value: str, limit: int) -> str:
    return REDACTED if name.endswith(_CALLER_FIELDS) or name == "CallerID" else clip(value, limit)


def clip_headers(headers: Mapping[str, str], limit: int = 60, most: int = 24) -> str:
    """A message's headers for a log line, each value clipped and at most `most` of them;
    caller numbers and names redacted (logs are read by more people than orders are)."""
    shown = [f"{name}={_shown(name, value, limit)}" for name, value in list(headers.items())[:most]]
    if len(headers) > most:
        shown.append(f"… ({len(headers)} headers)")
    return ", ".join(shown)


def parse_message(frame: str) -> dict[str, str] | None:
    """Parse one AMI message (the text between two blank lines) into its headers.

    Header names keep Asterisk's case. A header repeated in one message (``Output``,
    ``ChanVariable``) keeps all its values, in order, joined with ``"\\n"`` (which cannot occur
    inside an AMI value). Lines without a colon are logged and skipped; a message with neither
    ``Event`` nor ``Response`` is logged and dropped (returns None).
    """
    headers: dict[str, str] = {}
    repeated: dict[str, list[str]] | None = None
    for line in frame.split(EOL):
        if not line:
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")
            if not sep:
                log.warning("AMI line without a colon ignored: %s", clip(line))
                continue
        if not key:
            log.warning("AMI line without a header name ignored: %s", clip(line))
            continue
        if key in headers:
            if repeated is None:
                repeated = {}
            repeated.setdefault(key, [headers[key]]).append(value)
        else:
            headers[key] = value
    if repeated:
        for key, values in repeated.items():
            headers[key] = "\n".join(values)
    if "Event" not in headers and "Response" not in headers:
        log.warning("AMI message with neither Event nor Response dropped: %s", clip(frame))
        return None
    return headers


def _drop_cut_character(exc: UnicodeError) -> tuple[str, int]:
    """Decoding errors: a character cut short at the end of a line is dropped, other bytes that
    do not decode become U+FFFD (corruption stays visible).

    Asterisk truncates long values (a caller's display name) by bytes, which can cut the
    last character in the middle; the name should end at its last whole character instead."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    at_line_end = exc.object[exc.end : exc.end + 1] in (b"\r", b"\n")
    return ("" if at_line_end and _is_cut_character(bad) else "\ufffd"), exc.end


def _is_cut_character(data: bytes) -> bool:
    """Whether `data` is the start of a multi-byte UTF-8 character, without its end."""
    if not data or not 0xC2 <= data[0] <= 0xF4:
        return False
    needed = 2 if data[0] < 0xE0 else 3 if data[0] < 0xF0 else 4
    return len(data) < needed and all(0x80 <= byte <= 0xBF for byte in data[1:])


codecs.register_error("hotline-drop-cut-character", _drop_cut_character)


class AmiParser:
    """Frames and parses one connection's byte stream.

    Make one per connection: it holds the banner state, the bytes of a character cut by a read
    boundary (in the incremental decoder) and the start of a message still incomplete.
    Undecodable bytes become U+FFFD rather than disappearing, so corruption stays visible;
    only a character that Asterisk cut at the end of a value is dropped.
    """

    def __init__(
        self, encoding: str = "utf-8", max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    ) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="hotline-drop-cut-character")
        self._max = max_message_chars
        self._parts: list[str] = []
        self._buffered = 0
        self._tail = ""  # last 3 buffered chars: a separator may straddle two reads
        self._discarding = False
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[dict[str, str]]:
        """Return the messages completed by ``data``, in stream order."""
        text = self._decoder.decode(data)
        if self.banner is None:
            text = self._take_banner(text)
        messages = []
        for frame in self._frames(text):
            if len(frame) > self._max:
                log.error("AMI message of %d chars dropped (limit %d)", len(frame), self._max)
                continue
            message = parse_message(frame)
            if message is not None:
                messages.append(message)
        return messages

    def close(self) -> None:
        """The stream ended: log a message cut off by the close (it is dropped)."""
        rest = "".join(self._parts) + self._decoder.decode(b"", final=True)
        if rest.strip() and not self._discarding:
            log.warning("AMI stream ended inside a message, dropped: %s", clip(rest))
        self._parts.clear()

    def _take_banner(self, text: str) -> str:
        """Consume the greeting line; Asterisk sends it alone, ended by a single EOL."""
        head = "".join(self._parts) + text
        self._parts.clear()
        line, sep, rest = head.partition(EOL)
        if not sep:
            if len(head) <= _MAX_BANNER_CHARS:
                self._parts.append(head)
                return ""
            line, rest = "", head
        self.banner = line
        if not line.startswith(BANNER_PREFIX):
            log.warning("peer is not an Asterisk manager, banner %s", clip(line))
        return rest

    def _frames(self, text: str) -> list[str]:
        if not text:
            return []
        if self._parts:
            if SEPARATOR not in self._tail + text:
                self._buffer(text)
                return []
            text = "".join(self._parts) + text
            self._parts = []
            self._buffered = 0
            self._tail = ""
        frames = text.split(SEPARATOR)
        rest = frames.pop()
        if self._discarding and frames:
            frames.pop(0)  # the end of the oversized message
            self._discarding = False
        if rest:
            self._buffer(rest)
        return frames

    def _buffer(self, text: str) -> None:
        self._parts.append(text)
        self._buffered += len(text)
        self._tail = (self._tail + text)[-3:]
        if self._buffered > self._max:
            if not self._discarding:
                log.error("AMI message over %d chars without an end: dropped", self._max)
            self._parts = [self._tail]
            self._buffered = len(self._tail)
            self._discarding = True


def _check(text: str, what: str) -> None:
    for char in _FORBIDDEN:
        if char in text:
            raise ValueError(f"AMI {what} contains {char!r}: {clip(text)}")


def encode_action(
    name: str, action_id: str, headers: Mapping[str, HeaderValue], encoding: str = "utf-8"
) -> bytes:
    """Serialise one action, refusing CR, LF and NUL anywhere (they would inject headers or
    a whole second action: ``CallerID: x\\r\\nAction: Hangup``). Raises ValueError before
    anything is written."""
    _check(name, "action name")
    _check(action_id, "ActionID")
    lines = [f"Action: {name}", f"ActionID: {action_id}"]
    for key, value in headers.items():
        _check(key, "header name")
        if not key or ":" in key or key.lower() in _RESERVED_KEYS:
            raise ValueError(f"invalid AMI header name {key!r}")
        for item in (value,) if isinstance(value, str) else value:
            _check(item, f"value of {key}")
            lines.append(f"{key}: {item}")
    return (EOL.join(lines) + SEPARATOR).encode(encoding)
